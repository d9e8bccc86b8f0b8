import { DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError, WebdcpError } from "../errors/mod.ts";
import { decodePickleFrom, type GlobalResolver, PyTuple, type PyValue } from "../pickle/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import type { Box, Tensor } from "../tensor/mod.ts";
import type { StoredRange } from "../storage/mod.ts";
import type { ZipEntry } from "../zip/mod.ts";
import { torchGlobals } from "./globals.ts";
import type { OpenTorchArchiveOptions, TorchArchive } from "./open_archive.ts";
import { readTensorRecord, tensorRun } from "./read_tensor.ts";
import { type TensorRef, TorchStorage } from "./tensor_ref.ts";
import { pyObject, TorchStorageType } from "./tokens.ts";

/**
 * torch's legacy magic number (`0x1950a86a20f9469cfc6c`) as the little-endian bytes a pickle `LONG1` holds:
 * the first of the pickles that open a file saved with `_use_new_zipfile_serialization=False`.
 */
const MAGIC_BYTES: Uint8Array = Uint8Array.of(0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
/** Bytes a file's head must hold for `isLegacyTorchHead` (PROTO, an optional FRAME, then the magic). */
export const LEGACY_HEAD_BYTES = 2 + 9 + MAGIC_BYTES.length;

/** The record folder the pseudo-records of a legacy file are named under, as the zip form names its own. */
const ARCHIVE_NAME = "archive";
/** The pickles before the storages are read in a window that doubles from this size... */
const FIRST_WINDOW = 64 << 10;
/**
 * ...up to this: a state dict's pickle is a few hundred bytes per tensor, so 256 MiB is about a million
 * tensors, and a stream claiming more is refused before it costs more memory than that.
 */
export const MAX_LEGACY_PICKLES_BYTES = 256 << 20;
const COUNT_BYTES = 8;
const COUNT_WINDOW = 64 << 10;

/** Whether `head` (a file's first bytes) opens a legacy torch.save file: a pickle whose first value is the magic. */
export function isLegacyTorchHead(head: Uint8Array): boolean {
  if (head.length < 2 || head[0] !== 0x80) return false;
  // Protocol 4 and up put an 8-byte FRAME opcode (0x95) between PROTO and the first value.
  const at = head[2] === 0x95 ? 11 : 2;
  return head.length >= at + MAGIC_BYTES.length && MAGIC_BYTES.every((b, i) => head[at + i] === b);
}

/** A storage a persistent id declares: a root storage, or a view of `root` (the form of torch before 1.6). */
interface Declared {
  dtype: TorchStorage["dtype"];
  numel: number;
  location: string;
  view?: { root: string; offset: number };
}

/**
 * Opens a legacy torch.save file: the magic number, protocol version and system-info pickles, the object
 * pickle (tensors as `TensorRef`s, storages named by persistent id), the list of storage keys, then each
 * storage as an 8-byte element count and its bytes. Only the pickles and one count per storage are read
 * here; tensor bytes are read on demand at the offsets the counts give. The result has the zip form's
 * interface, with one pseudo-record `archive/data/<key>` per storage (legacy files carry no CRCs).
 */
export async function openLegacyTorchFile(
  source: ByteSource,
  opts: OpenTorchArchiveOptions = {},
): Promise<TorchArchive> {
  const path = opts.path ?? source.path;
  const base = opts.baseOffset ?? 0;
  const fail = (message: string, offset: number, code: "E_TORCH_ARCHIVE" | "E_TRUNCATED" = "E_TORCH_ARCHIVE") =>
    new FormatError(code, message, { path, offset: base + offset });

  const declared = new Map<string, Declared>();
  const globals: GlobalResolver = opts.globals ? (m, n) => opts.globals!(m, n) ?? torchGlobals(m, n) : torchGlobals;
  const declare = (key: string, storage: Declared) => {
    const seen = declared.get(key);
    if (seen === undefined) declared.set(key, storage);
    else if (seen.dtype !== storage.dtype || seen.numel !== storage.numel || !sameView(seen, storage)) {
      throw new FormatError("E_TORCH_ARCHIVE", `storage '${key}' is declared twice with different types or sizes`);
    }
  };
  const persistentLoad = (pid: PyValue): PyValue => {
    const { root, view } = declareStorage(pid);
    declare(root.key, root.storage);
    const named = view ?? root;
    if (view) declare(view.key, view.storage);
    return pyObject(new TorchStorage(named.key, named.storage.dtype, named.storage.numel, named.storage.location));
  };
  const { value, keys, dataStart } = await readPickles(
    source,
    path,
    base,
    globals,
    persistentLoad,
    () => declared.clear(),
  );

  // Root storages follow one another in the order of the keys list, each behind its element count.
  const records = new Map<string, ZipEntry>();
  const rootAt = new Map<string, ZipEntry>();
  let at = dataStart;
  const counts = countReader(source);
  for (const key of keys) {
    const d = declared.get(key);
    if (d === undefined) throw fail(`storage key '${key}' is listed but no tensor declares it`, dataStart);
    if (d.view) throw fail(`storage key '${key}' is listed but declared as a view of '${d.view.root}'`, dataStart);
    if (rootAt.has(key)) throw fail(`storage key '${key}' is listed twice`, dataStart);
    if (at + COUNT_BYTES > source.size) {
      throw fail(`file ends before the element count of storage '${key}'`, at, "E_TRUNCATED");
    }
    const count = await counts.read(at);
    if (count !== BigInt(d.numel)) {
      throw fail(`storage '${key}' is declared with ${d.numel} elements but its data says ${count}`, at);
    }
    const size = d.numel * itemsizeOf(d);
    if (at + COUNT_BYTES + size > source.size) {
      throw fail(
        `storage '${key}' (${size} bytes at ${base + at + COUNT_BYTES}) runs past the end of the ` +
          `${base + source.size}-byte file`,
        at,
        "E_TRUNCATED",
      );
    }
    const record = { name: recordName(key), localHeaderOffset: at, dataOffset: at + COUNT_BYTES, size, crc32: 0 };
    rootAt.set(key, record);
    records.set(record.name, record);
    at += COUNT_BYTES + size;
  }
  for (const [key, d] of declared) {
    if (d.view === undefined) {
      if (!rootAt.has(key)) throw fail(`storage '${key}' is declared but missing from the storage keys`, dataStart);
      continue;
    }
    const root = rootAt.get(d.view.root);
    if (root === undefined) {
      throw fail(`view '${key}' names root storage '${d.view.root}', which is not stored`, dataStart);
    }
    const itemsize = itemsizeOf(d);
    if (rootAt.has(key) || d.view.offset * itemsize + d.numel * itemsize > root.size) {
      throw fail(
        `view '${key}' (${d.numel} elements at element ${d.view.offset}) does not lie inside storage ` +
          `'${d.view.root}' (${root.size} bytes), or reuses a root storage's key`,
        root.localHeaderOffset,
      );
    }
    const record = {
      name: recordName(key),
      localHeaderOffset: root.localHeaderOffset,
      dataOffset: root.dataOffset + d.view.offset * itemsize,
      size: d.numel * itemsize,
      crc32: 0,
    };
    records.set(record.name, record);
  }

  const ctx = { source, path, baseOffset: base, bigEndian: false };
  const storageRecord = (ref: TensorRef): ZipEntry => {
    const e = records.get(recordName(ref.storageKey));
    if (e === undefined) throw fail(`no storage '${ref.storageKey}'`, dataStart);
    return e;
  };
  return {
    archiveName: ARCHIVE_NAME,
    value,
    records,
    readTensor(ref: TensorRef, box?: Box, out?: Uint8Array): Promise<Tensor> {
      return readTensorRecord(ctx, storageRecord(ref), ref, box, out);
    },
    storedRange(ref: TensorRef, box: Box): StoredRange | undefined {
      const run = tensorRun(ctx, storageRecord(ref), ref, box);
      return run && { source, offset: run.offset, length: run.length };
    },
    // The format carries no checksums; every storage's count and extent were checked on opening.
    verify: () => Promise.resolve(),
  };
}

/**
 * Reads the 8-byte element counts through one window of the file, so the counts of small storages lying
 * close together (biases, norms) cost one read between them rather than one each (a round trip over HTTP).
 */
function countReader(source: ByteSource): { read(at: number): Promise<bigint> } {
  let start = 0;
  let bytes: Uint8Array = new Uint8Array(0);
  return {
    async read(at: number): Promise<bigint> {
      if (at < start || at + COUNT_BYTES > start + bytes.length) {
        start = at;
        bytes = await source.read(at, Math.min(COUNT_WINDOW, source.size - at));
      }
      return new DataView(bytes.buffer, bytes.byteOffset + at - start, COUNT_BYTES).getBigUint64(0, true);
    },
  };
}

function recordName(key: string): string {
  return `${ARCHIVE_NAME}/data/${key}`;
}

function itemsizeOf(d: Declared): number {
  return d.dtype === undefined ? 1 : DTYPE_INFO[d.dtype].itemsize;
}

function sameView(a: Declared, b: Declared): boolean {
  return a.view?.root === b.view?.root && a.view?.offset === b.view?.offset;
}

/**
 * The legacy persistent id `("storage", storage_type, root_key, location, numel, view_metadata)`, where
 * `view_metadata` is None or `(view_key, offset, size)` in elements: the storage a tensor names is then that
 * slice of the root. Both the root and the view are declared.
 */
function declareStorage(
  pid: PyValue,
): { root: { key: string; storage: Declared }; view?: { key: string; storage: Declared } } {
  const bad = (message: string) => new FormatError("E_TORCH_ARCHIVE", message);
  if (!(pid instanceof PyTuple) || pid.items[0] !== "storage") {
    throw bad("persistent id is not a ('storage', ...) tuple (pickled modules are not supported)");
  }
  if (pid.items.length !== 6) {
    throw bad("persistent id is not a ('storage', type, key, location, numel, view) tuple");
  }
  const [, type, key, location, numel, view] = pid.items;
  if (!(type instanceof TorchStorageType)) throw bad("persistent id names no storage class");
  if (typeof key !== "string" || typeof location !== "string") throw bad("storage key and location must be strings");
  if (!isCount(numel)) throw bad(`invalid storage size ${String(numel)}`);
  const root = { key, storage: { dtype: type.dtype, numel, location } };
  if (view === null) return { root };
  if (!(view instanceof PyTuple) || view.items.length !== 3) {
    throw bad("storage view is not a (key, offset, size) tuple");
  }
  const [viewKey, offset, size] = view.items;
  if (typeof viewKey !== "string" || !isCount(offset) || !isCount(size)) {
    throw bad("storage view is not a (key, offset, size) tuple");
  }
  if (viewKey === key) throw bad(`storage view '${viewKey}' has the key of its root`);
  return {
    root,
    view: { key: viewKey, storage: { dtype: type.dtype, numel: size, location, view: { root: key, offset } } },
  };
}

function isCount(v: PyValue): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Decodes the five pickles in a window of the file's start that grows until they fit: a stream that ends
 * inside the window is cut short; one that runs to its edge may simply go on past it.
 */
async function readPickles(
  source: ByteSource,
  path: string,
  base: number,
  globals: GlobalResolver,
  persistentLoad: (pid: PyValue) => PyValue,
  restart: () => void,
): Promise<{ value: PyValue; keys: string[]; dataStart: number }> {
  for (let window = Math.min(source.size, FIRST_WINDOW);; window = Math.min(source.size, window * 2)) {
    const bytes = await source.read(0, window);
    restart();
    try {
      return decodeHead(bytes, path, base, globals, persistentLoad);
    } catch (e) {
      const truncated = e instanceof WebdcpError && e.code === "E_TRUNCATED";
      if (!truncated || window >= source.size) throw e;
      if (window >= MAX_LEGACY_PICKLES_BYTES) {
        throw new FormatError(
          "E_HEADER_TOO_LARGE",
          `the pickles before the storages run past ${MAX_LEGACY_PICKLES_BYTES} bytes (the limit)`,
          { path, offset: base + MAX_LEGACY_PICKLES_BYTES },
        );
      }
    }
  }
}

function decodeHead(
  bytes: Uint8Array,
  path: string,
  base: number,
  globals: GlobalResolver,
  persistentLoad: (pid: PyValue) => PyValue,
): { value: PyValue; keys: string[]; dataStart: number } {
  let pos = 0;
  const next = (opts: { globals?: GlobalResolver; persistentLoad?: (pid: PyValue) => PyValue } = {}) => {
    const start = pos;
    const r = decodePickleFrom(bytes.subarray(pos), { path, baseOffset: base + pos, ...opts });
    pos += r.length;
    return { value: r.value, start };
  };
  const fail = (message: string, offset: number) =>
    new FormatError("E_TORCH_ARCHIVE", message, { path, offset: base + offset });

  const magic = next();
  if (magic.value !== MAGIC) {
    throw new FormatError("E_BAD_MAGIC", "first pickle is not torch's legacy magic number", { path, offset: base });
  }
  const protocol = next();
  if (protocol.value !== PROTOCOL_VERSION) {
    throw new FormatError(
      "E_UNSUPPORTED",
      `legacy protocol version ${String(protocol.value)} (only ${PROTOCOL_VERSION} exists)`,
      { path, offset: base + protocol.start },
    );
  }
  // System info (byte order, C type sizes) describes the writer; storages are little-endian whatever it says,
  // since torch converts them when it writes.
  const sysInfo = next();
  if (!(sysInfo.value instanceof Map)) throw fail("system info is not a dict", sysInfo.start);
  const object = next({ globals, persistentLoad });
  const keys = next();
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    throw fail("storage keys are not a list of strings", keys.start);
  }
  return { value: object.value, keys: keys.value as string[], dataStart: pos };
}
