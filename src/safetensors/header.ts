import * as z from "../schema/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { dtypeFromSafetensors, itemsize } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { checkLimit, DEFAULT_LIMITS, type Limits, resolveLimits } from "../limits/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { checkShape, numel } from "../tensor/mod.ts";
import { scanHeaderKeys } from "./header_keys.ts";

/** The reference implementation's cap on the JSON header (bytes): the default `maxHeaderBytes`. */
export const MAX_HEADER_BYTES = DEFAULT_LIMITS.maxHeaderBytes;

/** One tensor of a safetensors file. `begin`/`end` are absolute byte offsets in the file (end exclusive). */
export interface SafetensorsTensorInfo {
  /** The stored dtype. */
  dtype: DType;
  /** The shape. */
  shape: number[];
  /** Start of the data, relative to the data buffer. */
  begin: number;
  /** End of the data (exclusive), relative to the data buffer. */
  end: number;
}

/** A parsed and checked safetensors header. */
export interface SafetensorsHeader {
  /** Tensors in data order (ascending offsets). */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** `__metadata__`, or undefined when the header has none (or `null`, which the reference also accepts). */
  metadata: Record<string, string> | undefined;
  /** Absolute offset of the data buffer: 8 + the header length. */
  dataStart: number;
}

const TensorEntry = z.lazySchema(() => {
  const usize = z.number().check(z.int(), z.nonnegative());
  return z.object({ dtype: z.string(), shape: z.array(usize), data_offsets: z.tuple([usize, usize]) });
});
const MetadataEntry = z.lazySchema(() => z.nullable(z.record(z.string(), z.string())));

/**
 * Parses and validates the header of a safetensors file as strictly as the Rust reference (plus the
 * duplicate-name and leading-`{` checks it documents but does not enforce): the tensors, sorted by offsets,
 * must tile the data buffer exactly, each with exactly `numel * itemsize` bytes.
 */
export async function readSafetensorsHeader(
  source: ByteSource,
  opts: { limits?: Partial<Limits> } = {},
): Promise<SafetensorsHeader> {
  const path = source.path;
  const limits = resolveLimits(opts.limits);
  // A declaration with a `never` return, so the type checker knows nothing runs after a call.
  function fail(code: "E_SAFETENSORS" | "E_OUT_OF_RANGE" | "E_OVERLAP", msg: string, offset: number): never {
    throw new FormatError(code, msg, { path, offset });
  }
  if (source.size < 8) {
    throw new FormatError("E_TRUNCATED", `${source.size} bytes is too short for a safetensors file`, {
      path,
      offset: 0,
    });
  }
  const declared = new DataView((await source.read(0, 8)).buffer).getBigUint64(0, true);
  if (declared > BigInt(limits.maxHeaderBytes)) {
    throw new FormatError(
      "E_HEADER_TOO_LARGE",
      `header length ${declared} exceeds the limit maxHeaderBytes=${limits.maxHeaderBytes}`,
      {
        path,
        offset: 0,
      },
    );
  }
  const headerLength = Number(declared);
  if (8 + headerLength > source.size) {
    fail("E_OUT_OF_RANGE", `header length ${headerLength} runs past the end of the ${source.size}-byte file`, 0);
  }
  const dataStart = 8 + headerLength;
  const raw = await source.read(8, headerLength);
  // Counted on the bytes before JSON.parse builds an object per entry (a million entries is gigabytes).
  checkLimit(limits, "maxTensors", countTopLevelMembers(raw), "entries in the header", { path, offset: 8 });
  let parsed: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    if (!text.startsWith("{")) fail("E_SAFETENSORS", "header does not start with '{'", 8);
    parsed = JSON.parse(text);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError("E_SAFETENSORS", `header is not UTF-8 JSON: ${(e as Error).message}`, {
      path,
      offset: 8,
      cause: e,
    });
  }
  const scan = scanHeaderKeys(raw);
  if (scan.badNumberAt !== undefined) {
    fail("E_SAFETENSORS", "header numbers must be non-negative integers", 8 + scan.badNumberAt);
  }
  const seen = new Set<string>();
  for (const k of scan.keys) {
    if (seen.has(k.name)) fail("E_SAFETENSORS", `duplicate name '${k.name}' in header`, 8 + k.offset);
    seen.add(k.name);
  }
  const keyOffset = new Map(scan.keys.map((k) => [k.name, 8 + k.offset]));

  let metadata: Record<string, string> | undefined;
  const entries: (SafetensorsTensorInfo & { name: string; at: number })[] = [];
  const dataLength = source.size - dataStart;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    const at = keyOffset.get(name) ?? 8;
    checkLimit(limits, "maxNameLength", name.length, "length of a tensor name", { path, offset: at });
    if (name === "__metadata__") {
      const m = MetadataEntry().safeParse(value);
      if (!m.success) fail("E_SAFETENSORS", "__metadata__ must map strings to strings", at);
      // From the parsed JSON, not zod's copy, which drops a `__proto__` key (fromEntries keeps it as a key).
      metadata = m.data === null ? undefined : Object.fromEntries(Object.entries(value as Record<string, string>));
      continue;
    }
    const t = TensorEntry().safeParse(value);
    if (!t.success) fail("E_SAFETENSORS", `tensor '${name}': ${z.prettifyError(t.error).replace(/\n/g, "; ")}`, at);
    const { dtype: code, shape, data_offsets: [begin, end] } = t.data;
    const dtype = dtypeFromSafetensors(code, { path, offset: at });
    checkShape(shape, { path, offset: at });
    if (end < begin) fail("E_SAFETENSORS", `tensor '${name}' ends (${end}) before it begins (${begin})`, at);
    if (end > dataLength) {
      fail("E_OUT_OF_RANGE", `tensor '${name}' ends at data offset ${end}, past the ${dataLength}-byte buffer`, at);
    }
    const expected = numel(shape) * itemsize(dtype);
    if (end - begin !== expected) {
      fail(
        "E_SAFETENSORS",
        `tensor '${name}' ${code}[${shape}] needs ${expected} bytes, offsets give ${end - begin}`,
        at,
      );
    }
    entries.push({ name, at, dtype, shape, begin: dataStart + begin, end: dataStart + end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const e of entries) {
    if (e.begin < cursor) fail("E_OVERLAP", `tensor '${e.name}' overlaps the tensor before it`, e.at);
    if (e.begin > cursor) fail("E_SAFETENSORS", `hole of ${e.begin - cursor} bytes before tensor '${e.name}'`, e.at);
    cursor = e.end;
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, begin: e.begin, end: e.end });
  }
  if (cursor !== source.size) {
    fail("E_SAFETENSORS", `${source.size - cursor} bytes after the last tensor are not covered by the header`, cursor);
  }
  return { tensors, metadata, dataStart };
}

/** Members of the outermost JSON object, counted by scanning bytes (strings skipped, escapes honoured). */
function countTopLevelMembers(json: Uint8Array): number {
  let depth = 0, members = 0, inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
      if (depth === 1 && members === 0) members = 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) members++;
  }
  return members;
}
