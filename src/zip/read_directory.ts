import { FormatError } from "../errors/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import {
  CENTRAL_HEADER_SIZE,
  EOCD_SIZE,
  LOCAL_HEADER_SIZE,
  SIG_CENTRAL,
  SIG_EOCD,
  SIG_LOCAL,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  U16_MAX,
  U32_MAX,
  ZIP64_EOCD_SIZE,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR_SIZE,
  type ZipEntry,
} from "./zip_entry.ts";
import { checkInflateLimits, DEFAULT_INFLATE_LIMITS, type InflateLimits } from "./inflated_source.ts";

/** Options of `readZipDirectory`. */
export interface ReadZipDirectoryOptions {
  /** File named in errors (defaults to `source.path`). */
  path?: string;
  /** Added to offsets in errors, for an archive embedded in a larger file (a DCP item). */
  baseOffset?: number;
  /** Bounds on deflated entries (default `DEFAULT_INFLATE_LIMITS`). */
  inflateLimits?: InflateLimits;
}

/** Most zips (and every torch.save archive) have no comment: try a small tail before the 64 KiB worst case. */
const FIRST_TAIL = 1024;
const MAX_TAIL = EOCD_SIZE + U16_MAX + ZIP64_LOCATOR_SIZE;
/** Local headers closer than this are fetched with one read: a few wasted bytes beat one round trip each. */
const COALESCE_GAP = 8192;
/** Extra-field bytes fetched speculatively with a local header (torch's padding block is at most 67). */
const EXTRA_GUESS = 128;

interface Directory {
  entries: number;
  cdOffset: number;
  cdSize: number;
  /** Where the central directory must end: the ZIP64 EOCD record or the classic EOCD. */
  cdLimit: number;
}

/**
 * Reads the central directory of a zip archive through range reads at its end, and resolves each entry's
 * data offset from its local header. Everything is checked against `source.size`; entries are stored or
 * deflated, and a deflated one's declared sizes are checked against `inflateLimits`.
 */
export async function readZipDirectory(source: ByteSource, opts: ReadZipDirectoryOptions = {}): Promise<ZipEntry[]> {
  const ctx = new Ctx(source, opts);
  const dir = await readEnd(ctx);
  const central = await ctx.read(dir.cdOffset, dir.cdSize, "central directory");
  const partial = parseCentral(ctx, central, dir);
  await resolveDataOffsets(ctx, partial, dir.cdOffset);
  return partial;
}

class Ctx {
  readonly path: string;
  readonly base: number;
  readonly limits: InflateLimits;
  constructor(readonly source: ByteSource, opts: ReadZipDirectoryOptions) {
    this.path = opts.path ?? source.path;
    this.base = opts.baseOffset ?? 0;
    this.limits = opts.inflateLimits ?? DEFAULT_INFLATE_LIMITS;
  }
  get size(): number {
    return this.source.size;
  }
  fail(
    code: "E_BAD_MAGIC" | "E_TRUNCATED" | "E_ZIP" | "E_OUT_OF_RANGE" | "E_UNSUPPORTED",
    msg: string,
    at: number,
  ): never {
    throw new FormatError(code, msg, { path: this.path, offset: this.base + at });
  }
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      this.fail(
        "E_OUT_OF_RANGE",
        `${what} (${length} bytes at ${offset}) lies past the end of the ${this.size}-byte archive`,
        offset,
      );
    }
    return await this.source.read(offset, length);
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(ctx: Ctx, dv: DataView, at: number, fileOffset: number): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    ctx.fail("E_OUT_OF_RANGE", `64-bit field ${v} is beyond any real file`, fileOffset + at);
  }
  return Number(v);
}

async function readEnd(ctx: Ctx): Promise<Directory> {
  if (ctx.size < EOCD_SIZE) {
    ctx.fail("E_TRUNCATED", `${ctx.size} bytes cannot hold a zip end-of-central-directory record`, 0);
  }
  let tailLen = Math.min(ctx.size, FIRST_TAIL);
  let tailStart = ctx.size - tailLen;
  let tail = await ctx.read(tailStart, tailLen, "archive tail");
  let eocd = findEocd(tail);
  if (eocd < 0 && tailLen < Math.min(ctx.size, MAX_TAIL)) {
    tailLen = Math.min(ctx.size, MAX_TAIL);
    tailStart = ctx.size - tailLen;
    tail = await ctx.read(tailStart, tailLen, "archive tail");
    eocd = findEocd(tail);
  }
  if (eocd < 0) {
    ctx.fail("E_BAD_MAGIC", "no zip end-of-central-directory record (not a zip archive, or truncated)", tailStart);
  }
  const eocdAt = tailStart + eocd;
  const dv = view(tail);
  const disk = dv.getUint16(eocd + 4, true);
  const cdDisk = dv.getUint16(eocd + 6, true);
  if (disk !== 0 || cdDisk !== 0) ctx.fail("E_UNSUPPORTED", "multi-disk zip archives are not supported", eocdAt);
  let entries = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  let cdLimit = eocdAt;

  const locatorAt = eocdAt - ZIP64_LOCATOR_SIZE;
  const hasLocator = locatorAt >= 0 &&
    (locatorAt >= tailStart
      ? dv.getUint32(locatorAt - tailStart, true) === SIG_ZIP64_LOCATOR
      : view(await ctx.read(locatorAt, 4, "zip64 locator")).getUint32(0, true) === SIG_ZIP64_LOCATOR);
  if (hasLocator) {
    const loc = view(await ctx.read(locatorAt, ZIP64_LOCATOR_SIZE, "zip64 locator"));
    const z64At = u64(ctx, loc, 8, locatorAt);
    if (z64At + ZIP64_EOCD_SIZE > locatorAt) {
      ctx.fail("E_ZIP", `zip64 end-of-central-directory offset ${z64At} does not precede its locator`, locatorAt + 8);
    }
    const z = view(await ctx.read(z64At, ZIP64_EOCD_SIZE, "zip64 end-of-central-directory record"));
    if (z.getUint32(0, true) !== SIG_ZIP64_EOCD) {
      ctx.fail("E_BAD_MAGIC", "bad zip64 end-of-central-directory signature", z64At);
    }
    if (z.getUint32(16, true) !== 0 || z.getUint32(20, true) !== 0) {
      ctx.fail("E_UNSUPPORTED", "multi-disk zip archives are not supported", z64At + 16);
    }
    entries = u64(ctx, z, 32, z64At);
    cdSize = u64(ctx, z, 40, z64At);
    cdOffset = u64(ctx, z, 48, z64At);
    cdLimit = z64At;
  } else if (entries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    ctx.fail("E_ZIP", "end-of-central-directory fields are saturated but no zip64 locator precedes it", eocdAt);
  }
  if (cdOffset + cdSize > cdLimit) {
    ctx.fail(
      "E_OUT_OF_RANGE",
      `central directory (${cdSize} bytes at ${cdOffset}) overruns the end records at ${cdLimit}`,
      cdLimit,
    );
  }
  if (entries * CENTRAL_HEADER_SIZE > cdSize) {
    ctx.fail("E_ZIP", `${entries} entries cannot fit a ${cdSize}-byte central directory`, cdLimit);
  }
  return { entries, cdOffset, cdSize, cdLimit };
}

/** The last EOCD signature whose declared comment fits inside the tail. */
function findEocd(tail: Uint8Array): number {
  const dv = view(tail);
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (dv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + dv.getUint16(i + 20, true) <= tail.length) return i;
  }
  return -1;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function parseCentral(ctx: Ctx, cd: Uint8Array, dir: Directory): ZipEntry[] {
  const dv = view(cd);
  const out: ZipEntry[] = [];
  const seen = new Set<string>();
  let p = 0;
  for (let i = 0; i < dir.entries; i++) {
    const at = dir.cdOffset + p;
    if (p + CENTRAL_HEADER_SIZE > cd.length) ctx.fail("E_TRUNCATED", `central directory ends inside entry ${i}`, at);
    if (dv.getUint32(p, true) !== SIG_CENTRAL) {
      ctx.fail("E_BAD_MAGIC", `bad central directory signature for entry ${i}`, at);
    }
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const diskStart = dv.getUint16(p + 34, true);
    let lho = dv.getUint32(p + 42, true);
    const varEnd = p + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
    if (varEnd > cd.length) {
      ctx.fail("E_TRUNCATED", `central directory ends inside entry ${i}'s name or extra field`, at);
    }
    let name: string;
    try {
      name = UTF8.decode(cd.subarray(p + CENTRAL_HEADER_SIZE, p + CENTRAL_HEADER_SIZE + nameLen));
    } catch {
      ctx.fail("E_ZIP", `entry ${i} has a name that is not UTF-8`, at + CENTRAL_HEADER_SIZE);
    }
    if (flags & 1) ctx.fail("E_UNSUPPORTED", `entry '${name}' is encrypted`, at + 8);
    if (method !== 0 && method !== 8) {
      ctx.fail(
        "E_UNSUPPORTED",
        `entry '${name}' is compressed with method ${method}; only stored (0) and deflated (8) entries are supported`,
        at + 10,
      );
    }
    if (diskStart !== 0 && diskStart !== U16_MAX) {
      ctx.fail("E_UNSUPPORTED", "multi-disk zip archives are not supported", at + 34);
    }
    if (size === U32_MAX || compSize === U32_MAX || lho === U32_MAX) {
      const z = findZip64Extra(cd, p + CENTRAL_HEADER_SIZE + nameLen, extraLen);
      if (z < 0) ctx.fail("E_ZIP", `entry '${name}' has saturated fields but no zip64 extra field`, at);
      const zlen = dv.getUint16(z + 2, true);
      let q = z + 4;
      const take = (): number => {
        if (q + 8 > z + 4 + zlen) ctx.fail("E_ZIP", `entry '${name}' has a short zip64 extra field`, dir.cdOffset + z);
        const v = u64(ctx, dv, q, dir.cdOffset);
        q += 8;
        return v;
      };
      if (size === U32_MAX) size = take();
      if (compSize === U32_MAX) compSize = take();
      if (lho === U32_MAX) lho = take();
    }
    if (method === 0 && compSize !== size) {
      ctx.fail("E_ZIP", `stored entry '${name}' has compressed size ${compSize} != size ${size}`, at + 20);
    }
    if (lho + compSize > dir.cdOffset) {
      ctx.fail(
        "E_OUT_OF_RANGE",
        `entry '${name}' (${compSize} bytes at ${lho}) overruns the central directory at ${dir.cdOffset}`,
        at + 42,
      );
    }
    if (seen.has(name)) ctx.fail("E_ZIP", `duplicate entry '${name}'`, at);
    seen.add(name);
    const entry: ZipEntry = { name, localHeaderOffset: lho, dataOffset: -1, size, crc32: crc };
    if (method === 8) {
      entry.deflated = { compressedSize: compSize };
      checkInflateLimits(entry, ctx.limits, { path: ctx.path, baseOffset: ctx.base });
    }
    out.push(entry);
    p = varEnd;
  }
  return out;
}

/** Position of the zip64 extended-information block inside an extra field, or -1. */
function findZip64Extra(buf: Uint8Array, start: number, len: number): number {
  const dv = view(buf);
  let q = start;
  while (q + 4 <= start + len) {
    const id = dv.getUint16(q, true);
    const n = dv.getUint16(q + 2, true);
    if (id === ZIP64_EXTRA_ID) return q + 4 + n <= start + len ? q : -1;
    q += 4 + n;
  }
  return -1;
}

async function resolveDataOffsets(ctx: Ctx, entries: ZipEntry[], cdOffset: number): Promise<void> {
  const order = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const enc = new TextEncoder();
  let i = 0;
  while (i < order.length) {
    // One read covers a run of nearby local headers (small records sit a few hundred bytes apart).
    const start = order[i].localHeaderOffset;
    let end = Math.min(cdOffset, start + LOCAL_HEADER_SIZE + enc.encode(order[i].name).length + EXTRA_GUESS);
    let j = i + 1;
    while (j < order.length && order[j].localHeaderOffset - end <= COALESCE_GAP) {
      end = Math.max(
        end,
        Math.min(
          cdOffset,
          order[j].localHeaderOffset + LOCAL_HEADER_SIZE + enc.encode(order[j].name).length + EXTRA_GUESS,
        ),
      );
      j++;
    }
    if (start + LOCAL_HEADER_SIZE > cdOffset) {
      ctx.fail(
        "E_OUT_OF_RANGE",
        `local header of '${order[i].name}' at ${start} overruns the central directory`,
        start,
      );
    }
    const buf = await ctx.read(start, end - start, "local headers");
    for (; i < j; i++) resolveOne(ctx, order[i], buf, start, cdOffset, enc);
  }
}

function resolveOne(ctx: Ctx, e: ZipEntry, buf: Uint8Array, bufStart: number, cdOffset: number, enc: TextEncoder) {
  const at = e.localHeaderOffset;
  const rel = at - bufStart;
  if (rel + LOCAL_HEADER_SIZE > buf.length) {
    ctx.fail("E_OUT_OF_RANGE", `local header of '${e.name}' at ${at} overruns the central directory`, at);
  }
  const dv = view(buf);
  if (dv.getUint32(rel, true) !== SIG_LOCAL) ctx.fail("E_BAD_MAGIC", `bad local header signature for '${e.name}'`, at);
  if (dv.getUint16(rel + 8, true) !== (e.deflated ? 8 : 0)) {
    ctx.fail("E_ZIP", `local header of '${e.name}' declares another compression than the central directory`, at + 8);
  }
  const nameLen = dv.getUint16(rel + 26, true);
  const extraLen = dv.getUint16(rel + 28, true);
  const expected = enc.encode(e.name);
  // The read window always covers the central name's length, so a name that does not fit cannot match.
  const local = buf.subarray(rel + LOCAL_HEADER_SIZE, rel + LOCAL_HEADER_SIZE + nameLen);
  if (nameLen !== expected.length || local.length !== nameLen || !local.every((b, k) => b === expected[k])) {
    ctx.fail("E_ZIP", `local header name does not match central directory entry '${e.name}'`, at + LOCAL_HEADER_SIZE);
  }
  e.dataOffset = at + LOCAL_HEADER_SIZE + nameLen + extraLen;
  const stored = e.deflated?.compressedSize ?? e.size;
  if (e.dataOffset + stored > cdOffset) {
    ctx.fail(
      "E_OUT_OF_RANGE",
      `data of '${e.name}' (${stored} bytes at ${e.dataOffset}) overruns the central directory`,
      at,
    );
  }
}
