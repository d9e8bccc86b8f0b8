import { DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError, IntegrityError } from "../errors/mod.ts";
import { checkLimit, type Limits, resolveLimits } from "../limits/mod.ts";
import { decodePickle, type GlobalResolver, PyTuple, type PyValue } from "../pickle/mod.ts";
import { cacheEnds, readSourceInto } from "../storage/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import type { Box, Tensor } from "../tensor/mod.ts";
import type { ChecksummedRecord, StoredRange } from "../storage/mod.ts";
import {
  checksummedRecord,
  crc32,
  inflatedSource,
  type InflateLimits,
  readZipDirectory,
  type ZipEntry,
} from "../zip/mod.ts";
import { torchGlobals } from "./globals.ts";
import { isLegacyTorchHead, LEGACY_HEAD_BYTES, openLegacyTorchFile } from "./legacy_format.ts";
import { readTensorRecord, tensorRun } from "./read_tensor.ts";
import { type TensorRef, TorchStorage } from "./tensor_ref.ts";
import { pyObject, TorchStorageType } from "./tokens.ts";

/** Options of `openTorchArchive`. */
export interface OpenTorchArchiveOptions {
  /** File named in errors (defaults to `source.path`). */
  path?: string;
  /** Offset of the archive inside its file (a DCP item), added to offsets in errors. */
  baseOffset?: number;
  /** Consulted before the torch allow-list, for callers whose pickles carry their own classes. */
  globals?: GlobalResolver;
  /** Overrides of the limits applied to `data.pkl` (see `Limits`). */
  limits?: Partial<Limits>;
  /** Bounds on records stored with deflate (default `DEFAULT_INFLATE_LIMITS`). */
  inflateLimits?: InflateLimits;
}

/** An opened torch.save archive. */
export interface TorchArchive {
  /** The top-level folder of every record (`archive`, or the stem of the saved file name). */
  readonly archiveName: string;
  /** The unpickled `data.pkl`, with tensors as `TensorRef`s. */
  readonly value: PyValue;
  /** Every zip record, by full name. */
  readonly records: ReadonlyMap<string, ZipEntry>;
  /**
   * A dense copy of `ref` (or of its `box`), honouring stride, storage offset and byte order; written into
   * `out` when given (it must hold exactly the box's bytes, else E_USAGE).
   */
  readTensor(ref: TensorRef, box?: Box, out?: Uint8Array): Promise<Tensor>;
  /**
   * Where the bytes of `box` of `ref` sit in the archive's source, when they are stored exactly as a dense
   * row-major copy would hold them (one run of a contiguous little-endian view, no lazy conj/neg, in a
   * record that is not deflated); else undefined. With the storage record, when the archive's CRCs hold, so
   * runs of it are checksummed cheaply.
   */
  storedRange(ref: TensorRef, box: Box): StoredRange | undefined;
  /** Checks every record's CRC-32 (E_BAD_CRC naming the record). */
  verify(): Promise<void>;
}

const SMALL_RECORD = 4096;
/**
 * Bytes at each end of an archive read up front: torch puts the headers and small records (`data.pkl`,
 * `byteorder`, `version`) at the start and end, around the directory; a few KiB cover them all.
 */
export const ENDS_WINDOW = 16 << 10;
const VERIFY_CHUNK = 16 << 20;

/** What opening an archive reads: its directory, the unpickled `data.pkl`, and whether its CRCs hold. */
interface ArchiveHead {
  entries: ZipEntry[];
  records: Map<string, ZipEntry>;
  archiveName: string;
  value: PyValue;
  bigEndian: boolean;
  /**
   * The directory's CRCs are believed only if those of the records read here prove true: torch can be told
   * not to compute them (it then writes 0), and other writers may get them wrong.
   */
  crcsHold: boolean;
  /** The whole archive, when it fits in the ends read to open it (a small DCP item). */
  whole?: ByteSource;
}

/**
 * Opens a torch.save (zip) archive: reads its directory, checks its version and unpickles `data.pkl`. A
 * legacy file (saved with `_use_new_zipfile_serialization=False`) is told by its first bytes and opened by
 * `openLegacyTorchFile`.
 */
export async function openTorchArchive(source: ByteSource, opts: OpenTorchArchiveOptions = {}): Promise<TorchArchive> {
  const path = opts.path ?? source.path;
  const base = opts.baseOffset ?? 0;
  const ends = await cacheEnds(source, ENDS_WINDOW);
  if (isLegacyTorchHead(await ends.read(0, Math.min(ends.size, LEGACY_HEAD_BYTES)))) {
    return await openLegacyTorchFile(source, opts);
  }
  const { entries, records, archiveName, value, bigEndian, crcsHold, whole } = await readHead(ends, path, base, opts);
  // A small archive was read whole to open it; its first use (the read or copy that nearly always follows
  // the opening) is served from those bytes, which are then let go, so an archive kept open holds none.
  // One read per small item instead of two: with thousands of items, the fixed cost of a read dominates.
  let held = whole;
  const take = (): ByteSource => {
    const bytes = held ?? source;
    held = undefined;
    return bytes;
  };
  const fail = (message: string) => new FormatError("E_TORCH_ARCHIVE", message, { path, offset: base });
  const record = (name: string) => records.get(`${archiveName}/${name}`);

  const ctx = { source, path, baseOffset: base, bigEndian };
  // A deflated record is read through its own inflating source, as if it were stored at its offset 0.
  const inflated = new Map<ZipEntry, { source: ByteSource; record: ZipEntry }>();
  const readable = (e: ZipEntry) => {
    if (!e.deflated) return { ctx, record: e };
    let hit = inflated.get(e);
    if (hit === undefined) {
      hit = { source: inflatedSource(source, e, { path, baseOffset: base }), record: { ...e, dataOffset: 0 } };
      inflated.set(e, hit);
    }
    return { ctx: { ...ctx, source: hit.source, baseOffset: base + e.dataOffset }, record: hit.record };
  };
  const checksummed = new Map<ZipEntry, ChecksummedRecord>();
  const storageRecord = (ref: TensorRef): ZipEntry => {
    const e = record(`data/${ref.storageKey}`);
    if (e === undefined) throw fail(`no record for storage '${ref.storageKey}'`);
    return e;
  };
  return {
    archiveName,
    value,
    records,
    async readTensor(ref: TensorRef, box?: Box, out?: Uint8Array): Promise<Tensor> {
      const e = storageRecord(ref);
      const from = take();
      const r = e.deflated ? readable(e) : { ctx: { ...ctx, source: from }, record: e };
      return await readTensorRecord(r.ctx, r.record, ref, box, out);
    },
    storedRange(ref: TensorRef, box: Box): StoredRange | undefined {
      held = undefined;
      const e = storageRecord(ref);
      if (e.deflated) return undefined;
      const run = tensorRun(ctx, e, ref, box);
      if (run === undefined) return undefined;
      let checked = checksummed.get(e);
      if (checked === undefined && crcsHold) {
        checked = checksummedRecord(source, e.dataOffset, e.size, e.crc32);
        checksummed.set(e, checked);
      }
      return { source, offset: run.offset, length: run.length, record: checked };
    },
    async verify(): Promise<void> {
      // One scratch buffer for every record: fresh multi-MiB buffers cost page faults on each read.
      const scratch = new Uint8Array(Math.min(VERIFY_CHUNK, entries.reduce((m, e) => Math.max(m, e.size), 0)));
      for (const e of entries) {
        let crc = 0;
        // A deflated record is inflated once, in order, by a source of its own that is dropped after it.
        const from = e.deflated ? inflatedSource(source, e, { path, baseOffset: base }) : source;
        const at = e.deflated ? 0 : e.dataOffset;
        for (let done = 0; done < e.size; done += VERIFY_CHUNK) {
          const piece = scratch.subarray(0, Math.min(VERIFY_CHUNK, e.size - done));
          await readSourceInto(from, at + done, piece);
          crc = crc32(piece, crc);
        }
        if (crc !== e.crc32) {
          throw new IntegrityError(
            "E_BAD_CRC",
            `record '${e.name}' has CRC-32 ${hex(crc)} but the directory says ${hex(e.crc32)}`,
            { path, offset: base + e.dataOffset },
          );
        }
      }
    },
  };
}

/**
 * Reads the directory, headers and small records from `ends`, the ends of the archive read up front (tensor
 * data is read later, from the source); the ends are dropped once the archive is open.
 */
async function readHead(
  ends: ByteSource,
  path: string,
  base: number,
  opts: OpenTorchArchiveOptions,
): Promise<ArchiveHead> {
  const entries = await readZipDirectory(ends, { path, baseOffset: base, inflateLimits: opts.inflateLimits });
  const fail = (message: string, offset = 0) =>
    new FormatError("E_TORCH_ARCHIVE", message, { path, offset: base + offset });
  if (entries.length === 0) throw fail("archive has no records");
  const slash = entries[0].name.indexOf("/");
  if (slash <= 0) {
    throw fail(`first record '${entries[0].name}' is not inside an archive folder`, entries[0].localHeaderOffset);
  }
  const archiveName = entries[0].name.slice(0, slash);
  const records = new Map(entries.map((e) => [e.name, e]));
  const record = (name: string) => records.get(`${archiveName}/${name}`);
  let crcsHold = true;
  const readChecked = async (e: ZipEntry): Promise<Uint8Array> => {
    const bytes = e.deflated
      ? await inflatedSource(ends, e, { path, baseOffset: base }).read(0, e.size)
      : await ends.read(e.dataOffset, e.size);
    if (crc32(bytes) !== e.crc32) crcsHold = false;
    return bytes;
  };
  const readSmall = async (e: ZipEntry): Promise<string> => {
    if (e.size > SMALL_RECORD) {
      throw fail(`record '${e.name}' is ${e.size} bytes, too large for its role`, e.dataOffset);
    }
    return new TextDecoder().decode(await readChecked(e));
  };

  const versionEntry = record(".data/version") ?? record("version");
  if (versionEntry === undefined) throw fail(`archive '${archiveName}' has no version record`);
  const versionText = (await readSmall(versionEntry)).trim();
  const version = /^\d+$/.test(versionText) ? Number(versionText) : NaN;
  if (!(version >= 1 && version <= 10)) {
    throw new FormatError("E_UNSUPPORTED", `archive version '${versionText}' is outside 1..10`, {
      path,
      offset: base + versionEntry.dataOffset,
    });
  }
  const byteorderEntry = record("byteorder");
  const byteorder = byteorderEntry === undefined ? "little" : await readSmall(byteorderEntry);
  if (byteorder !== "little" && byteorder !== "big") {
    throw fail(`byteorder record says '${byteorder}'`, byteorderEntry?.dataOffset);
  }

  const pkl = record("data.pkl");
  if (pkl === undefined) throw fail(`archive '${archiveName}' has no data.pkl`);
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PyValue): PyValue => {
    const s = loadStorage(pid, (key) => record(`data/${key}`));
    const seen = storages.get(s.key);
    if (seen === undefined) storages.set(s.key, s);
    else if (seen.dtype !== s.dtype || seen.numel !== s.numel) {
      throw new FormatError("E_TORCH_ARCHIVE", `storage '${s.key}' is declared twice with different types or sizes`);
    }
    return pyObject(seen ?? s);
  };
  const globals: GlobalResolver = opts.globals ? (m, n) => opts.globals!(m, n) ?? torchGlobals(m, n) : torchGlobals;
  const limits = resolveLimits(opts.limits);
  checkLimit(limits, "maxMetadataBytes", pkl.size, "data.pkl bytes", { path, offset: base + pkl.dataOffset });
  const value = decodePickle(await readChecked(pkl), {
    globals,
    persistentLoad,
    path,
    baseOffset: base + pkl.dataOffset,
    limits,
  });
  const whole = ends.size <= 2 * ENDS_WINDOW ? ends : undefined;
  return { entries, records, archiveName, value, bigEndian: byteorder === "big", crcsHold, whole };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** A persistent id `("storage", storage_type, key, location, numel)` checked against its record. */
function loadStorage(pid: PyValue, recordOf: (key: string) => ZipEntry | undefined): TorchStorage {
  const bad = (message: string) => new FormatError("E_TORCH_ARCHIVE", message);
  if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") {
    throw bad("persistent id is not a ('storage', type, key, location, numel) tuple");
  }
  const [, type, key, location, numel] = pid.items;
  if (!(type instanceof TorchStorageType)) throw bad("persistent id names no storage class");
  if (typeof key !== "string" || typeof location !== "string") throw bad("storage key and location must be strings");
  if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) {
    throw bad(`invalid storage size ${String(numel)}`);
  }
  const { dtype } = type;
  const e = recordOf(key);
  if (e === undefined) throw bad(`storage '${key}' has no data record`);
  const bytes = numel * (dtype === undefined ? 1 : DTYPE_INFO[dtype].itemsize);
  if (bytes !== e.size) throw bad(`storage '${key}' declares ${bytes} bytes but its record holds ${e.size}`);
  return new TorchStorage(key, dtype, numel, location);
}
