import type { DType } from "../dtype/mod.ts";
import { DTYPE_INFO } from "../dtype/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { BytePiece, ByteSink, ByteStream } from "../storage/mod.ts";
import { appendMadeRange, appendStoredRange, isStoredRange, pieceLength } from "../storage/mod.ts";
import { byteSize } from "../tensor/mod.ts";
import type { SafetensorsHeader, SafetensorsTensorInfo } from "./header.ts";
import { compareCodePoints, referenceDtypeRank } from "./order.ts";

/** A tensor to write: its bytes now, or a provider called once, when its turn in the file comes. */
export interface SafetensorsEntry {
  /** The tensor's name. */
  name: string;
  /** Its dtype. */
  dtype: DType;
  /** Its shape. */
  shape: number[];
  /** Its bytes, or a provider called when the writer reaches it. */
  data: Uint8Array | (() => Promise<ByteStream>);
}

/**
 * Writes one complete safetensors file at the sink's position, laid out exactly as the reference
 * `safetensors.torch.save_file` lays it out (tensors by dtype rank descending then name, compact JSON with
 * `__metadata__` first, header space-padded to a multiple of 8), so the bytes are identical for the same
 * tensors. The reference orders `__metadata__` keys by hash (differently each run); we write them in the
 * object's enumeration order, so byte identity holds for at most one metadata key.
 *
 * Streams: the header goes first, then each entry's bytes are pulled from its provider one entry at a
 * time. On failure the sink is left as is; the caller aborts it. Returns the header as written (offsets
 * absolute from the start of this file).
 */
export async function writeSafetensors(
  sink: ByteSink,
  entries: readonly SafetensorsEntry[],
  metadata?: Record<string, string>,
): Promise<SafetensorsHeader> {
  const sorted = [...entries].sort((a, b) =>
    referenceDtypeRank(codeOf(b)) - referenceDtypeRank(codeOf(a)) || compareCodePoints(a.name, b.name)
  );
  const layout = planLayout(sorted, sink.path);
  const json = encodeHeaderJson(sorted, layout, metadata, sink.path);
  const padded = (json.length + 7) & ~7;
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  await sink.write(head);

  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    await writeEntryData(sink, e, layout[i].end - layout[i].begin);
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: [...e.shape],
      begin: 8 + padded + layout[i].begin,
      end: 8 + padded + layout[i].end,
    });
  }
  return { tensors, metadata: metadata && { ...metadata }, dataStart: 8 + padded };
}

function codeOf(e: SafetensorsEntry): string {
  return DTYPE_INFO[e.dtype]?.safetensors ?? "";
}

function planLayout(sorted: readonly SafetensorsEntry[], path: string): { begin: number; end: number }[] {
  const names = new Set<string>();
  let offset = 0;
  return sorted.map((e) => {
    if (names.has(e.name)) throw new UsageError("E_USAGE", `duplicate tensor name '${e.name}'`, { path });
    if (e.name === "__metadata__") throw new UsageError("E_USAGE", "'__metadata__' cannot name a tensor", { path });
    names.add(e.name);
    if (!DTYPE_INFO[e.dtype]?.safetensors) {
      throw new UsageError("E_DTYPE", `dtype ${e.dtype} of '${e.name}' has no safetensors code`, { path });
    }
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new UsageError("E_SHAPE", `invalid shape [${e.shape}] for '${e.name}'`, { path });
    }
    const size = byteSize(e.dtype, e.shape);
    if (e.data instanceof Uint8Array && e.data.byteLength !== size) {
      throw new UsageError(
        "E_SHAPE",
        `'${e.name}' ${e.dtype}[${e.shape}] needs ${size} bytes, got ${e.data.byteLength}`,
        {
          path,
        },
      );
    }
    const span = { begin: offset, end: offset + size };
    offset += size;
    return span;
  });
}

// serde_json's compact output and JSON.stringify agree on strings (same escapes, lowercase \u00XX hex).
function encodeHeaderJson(
  sorted: readonly SafetensorsEntry[],
  layout: readonly { begin: number; end: number }[],
  metadata: Record<string, string> | undefined,
  path: string,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new UsageError("E_USAGE", `metadata '${k}' must be a string`, { path });
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  sorted.forEach((e, i) => {
    const info = `{"dtype":"${codeOf(e)}","shape":[${e.shape.join(",")}],"data_offsets":[${layout[i].begin},${
      layout[i].end
    }]}`;
    parts.push(`${JSON.stringify(e.name)}:${info}`);
  });
  return new TextEncoder().encode(`{${parts.join(",")}}`);
}

async function writeEntryData(sink: ByteSink, e: SafetensorsEntry, size: number): Promise<void> {
  const data = typeof e.data === "function" ? await e.data() : e.data;
  let written = 0;
  const put = async (piece: BytePiece) => {
    const length = pieceLength(piece);
    if (written + length > size) {
      throw new UsageError("E_SHAPE", `'${e.name}' provided more than its ${size} bytes`, { path: sink.path });
    }
    if (piece instanceof Uint8Array) await sink.write(piece);
    else if (isStoredRange(piece)) await appendStoredRange(sink, piece);
    else await appendMadeRange(sink, piece);
    written += length;
  };
  if (data instanceof Uint8Array) await put(data);
  else for await (const piece of data) await put(piece);
  if (written !== size) {
    throw new UsageError("E_SHAPE", `'${e.name}' provided ${written} of its ${size} bytes`, { path: sink.path });
  }
}
