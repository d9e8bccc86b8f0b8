import { UsageError } from "../errors/mod.ts";
import type { BytePiece, ByteSink, ByteStream } from "../storage/mod.ts";
import { pieceLength } from "../storage/mod.ts";
import { isTensor } from "../tensor/mod.ts";
import { crc32, ZipLayout, ZipWriter } from "../zip/mod.ts";
import type { ZipEntry } from "../zip/mod.ts";
import { planTorchSave, type StorageToWrite, type TorchSavePlan, type TorchSaveValue } from "./save_plan.ts";

/** Options of `saveTorch` and `encodeTorch`. */
export interface SaveTorchOptions {
  /** Top-level folder of the records; torch uses `archive` for streams and the file stem for paths. */
  archiveName?: string;
  /** The 40 digits of `.data/serialization_id`; by default derived from the record names and CRCs. */
  serializationId?: string;
}

const ENC = new TextEncoder();

/**
 * Writes `value` as a torch.save archive at the sink's current position, with the record set and layout
 * of torch 2.x: `data.pkl`, `.format_version`, `.storage_alignment`, `byteorder`, `data/0..`, `version`,
 * `.data/serialization_id`. `Tensor` leaves become storages; `LazyTensor` leaves are read one at a time, as
 * their record is written. The sink is not closed.
 */
export async function saveTorch(sink: ByteSink, value: TorchSaveValue, opts: SaveTorchOptions = {}): Promise<void> {
  const name = archiveName(opts);
  const plan = planTorchSave(value);
  const zip = new ZipWriter(sink);
  for (const [record, bytes] of headRecords(plan)) await zip.writeRecord(`${name}/${record}`, bytes);
  for (const s of plan.storages) {
    const bytes = isTensor(s.leaf) ? s.leaf.data : await s.leaf.read();
    await zip.writeRecordStream(`${name}/data/${s.key}`, s.byteLength, checkedBytes(s, bytes));
  }
  await zip.writeRecord(`${name}/version`, VERSION);
  await zip.writeRecord(`${name}/.data/serialization_id`, serializationId(zip.entries, opts));
  await zip.finish();
}

/**
 * Where the first storage's data starts in the archive `saveTorch(value, opts)` writes, counted from the
 * archive's start: the layout before it follows from the record names and sizes alone. Undefined when the
 * value holds no tensor.
 */
export function torchDataOffset(value: TorchSaveValue, opts: SaveTorchOptions = {}): number | undefined {
  const name = archiveName(opts);
  const plan = planTorchSave(value);
  const first = plan.storages[0];
  if (first === undefined) return undefined;
  const layout = new ZipLayout();
  for (const [record, bytes] of headRecords(plan)) {
    layout.begin(`${name}/${record}`, bytes.byteLength);
    layout.end(0);
  }
  const start = layout.position;
  return start + layout.begin(`${name}/data/${first.key}`, first.byteLength).byteLength;
}

/** `saveTorch` into memory. Only `Tensor` leaves: lazy ones would need an await. */
export function encodeTorch(value: TorchSaveValue, opts: SaveTorchOptions = {}): Uint8Array {
  const name = archiveName(opts);
  const plan = planTorchSave(value);
  const layout = new ZipLayout();
  const parts: Uint8Array[] = [];
  const add = (record: string, bytes: Uint8Array) => {
    parts.push(layout.begin(`${name}/${record}`, bytes.byteLength), bytes, layout.end(crc32(bytes)));
  };
  for (const [record, bytes] of headRecords(plan)) add(record, bytes);
  for (const s of plan.storages) {
    if (!isTensor(s.leaf)) {
      throw new UsageError("E_USAGE", "encodeTorch() cannot read LazyTensor leaves; use saveTorch()");
    }
    add(`data/${s.key}`, s.leaf.data);
  }
  add("version", VERSION);
  add(".data/serialization_id", serializationId(layout.entries, opts));
  parts.push(layout.finish());
  const out = new Uint8Array(layout.position);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const VERSION = ENC.encode("3\n");

function headRecords(plan: TorchSavePlan): [string, Uint8Array][] {
  return [
    ["data.pkl", plan.pickle],
    [".format_version", ENC.encode("1")],
    [".storage_alignment", ENC.encode("64")],
    ["byteorder", ENC.encode("little")],
  ];
}

function archiveName(opts: SaveTorchOptions): string {
  const name = opts.archiveName ?? "archive";
  if (name === "" || name.includes("/") || name.includes("\\")) {
    throw new UsageError("E_USAGE", `archive name must be one non-empty path segment, got '${name}'`);
  }
  return name;
}

/** The leaf's bytes as record pieces, failing with the leaf's dtype and shape when they are not its size. */
async function* checkedBytes(s: StorageToWrite, bytes: ByteStream): AsyncIterable<BytePiece> {
  let read = 0;
  const mismatch = (what: string) =>
    new UsageError(
      "E_USAGE",
      `tensor ${s.leaf.dtype}[${s.leaf.shape}] for storage '${s.key}' gave ${what} bytes, expected ${s.byteLength}`,
    );
  for await (const piece of bytes instanceof Uint8Array ? [bytes] : bytes) {
    read += pieceLength(piece);
    if (read > s.byteLength) throw mismatch("more than its");
    yield piece;
  }
  if (read !== s.byteLength) throw mismatch(String(read));
}

/**
 * torch writes 20 digits of a hash of the record names and 20 of a combined CRC; readers only log it. Ours
 * is deterministic in the same inputs (FNV-1a of the names, chained CRC-32 of the record CRCs), so saving
 * the same value twice gives the same bytes.
 */
function serializationId(entries: readonly ZipEntry[], opts: SaveTorchOptions): Uint8Array {
  if (opts.serializationId !== undefined) {
    if (!/^\d{40}$/.test(opts.serializationId)) {
      throw new UsageError("E_USAGE", "serializationId must be 40 decimal digits");
    }
    return ENC.encode(opts.serializationId);
  }
  let hash = 0xcbf29ce484222325n;
  let crc = 0;
  const word = new Uint8Array(4);
  for (const e of entries) {
    for (const b of ENC.encode(e.name + "\0")) hash = ((hash ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    new DataView(word.buffer).setUint32(0, e.crc32, true);
    crc = crc32(word, crc);
  }
  return ENC.encode(hash.toString().padStart(20, "0") + crc.toString().padStart(20, "0"));
}
