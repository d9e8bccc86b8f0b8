import { UsageError } from "../errors/mod.ts";
import {
  CENTRAL_HEADER_SIZE,
  EOCD_SIZE,
  LOCAL_HEADER_SIZE,
  SIG_CENTRAL,
  SIG_DESCRIPTOR,
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

/** bit 3: sizes follow the data in a descriptor; bit 11: UTF-8 names. */
const FLAGS_STREAMED = 0x0808;
/** miniz leaves bit 3 (and the descriptor) out for empty records. */
const FLAGS_EMPTY = 0x0800;
const PAD_BLOCK_ID = 0x4246; // "FB"
const PAD_BYTE = 0x5a; // "Z"

/**
 * The byte layout of a zip archive exactly as PyTorch's `PyTorchStreamWriter` (miniz) writes it, with no
 * I/O: it hands out the bytes that go around each record and tracks offsets, so the async `ZipWriter` and
 * synchronous in-memory encoders share one implementation. Stored records only; each record's data start
 * is aligned through an "FB" padding block in its local header; CRC and sizes go in a trailing data
 * descriptor; the end is the central directory, a ZIP64 end record + locator (always) and the classic one.
 */
export class ZipLayout {
  readonly #alignment: number;
  readonly #entries: ZipEntry[] = [];
  readonly #names = new Set<string>();
  #position = 0;
  #open: { name: string; size: number; offset: number; dataOffset: number; zip64: boolean } | undefined;
  #finished = false;

  /** A layout whose record data starts at multiples of `alignment` (torch uses 64). */
  constructor(alignment = 64) {
    if (!Number.isInteger(alignment) || alignment < 1 || alignment > 0x4000) {
      throw new UsageError("E_USAGE", `zip alignment must be an integer in 1..16384, got ${alignment}`);
    }
    this.#alignment = alignment;
  }

  /** Bytes laid out so far (headers handed out plus announced record data). */
  get position(): number {
    return this.#position;
  }

  /** The records laid out so far. */
  get entries(): readonly ZipEntry[] {
    return this.#entries;
  }

  /** Starts a record of `size` bytes: returns its local header, to be followed by exactly `size` data bytes. */
  begin(name: string, size: number): Uint8Array {
    if (this.#finished) throw new UsageError("E_USAGE", "zip archive is already finished");
    if (this.#open) throw new UsageError("E_USAGE", `zip record '${this.#open.name}' is still open`);
    if (this.#names.has(name)) throw new UsageError("E_USAGE", `duplicate zip record '${name}'`);
    if (!Number.isSafeInteger(size) || size < 0) throw new UsageError("E_USAGE", `invalid record size ${size}`);
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length > U16_MAX) {
      throw new UsageError("E_USAGE", `zip record name is too long: ${name.slice(0, 64)}...`);
    }
    const offset = this.#position;
    const bigSize = size >= U32_MAX;
    const bigOffset = offset >= U32_MAX;
    const zip64 = bigSize || bigOffset;
    // miniz writes the local zip64 block before compressing: the compressed size is still 0 there.
    const localZip64 = zip64 ? zip64Extra(bigSize ? [size, 0] : [], bigOffset ? offset : undefined) : EMPTY;
    const before = offset + LOCAL_HEADER_SIZE + nameBytes.length + localZip64.length + 4;
    const pad = (this.#alignment - (before % this.#alignment)) % this.#alignment;

    const header = new Uint8Array(LOCAL_HEADER_SIZE + nameBytes.length + localZip64.length + 4 + pad);
    const h = view(header);
    h.setUint32(0, SIG_LOCAL, true);
    h.setUint16(6, size === 0 ? FLAGS_EMPTY : FLAGS_STREAMED, true);
    h.setUint16(26, nameBytes.length, true);
    h.setUint16(28, localZip64.length + 4 + pad, true);
    header.set(nameBytes, LOCAL_HEADER_SIZE);
    header.set(localZip64, LOCAL_HEADER_SIZE + nameBytes.length);
    const padAt = LOCAL_HEADER_SIZE + nameBytes.length + localZip64.length;
    h.setUint16(padAt, PAD_BLOCK_ID, true);
    h.setUint16(padAt + 2, pad, true);
    header.fill(PAD_BYTE, padAt + 4);

    this.#names.add(name);
    this.#position += header.length + size;
    this.#open = { name, size, offset, dataOffset: offset + header.length, zip64 };
    return header;
  }

  /** Ends the open record with the CRC-32 of its data: returns its data descriptor (empty for 0 bytes). */
  end(crc: number): Uint8Array {
    const r = this.#open;
    if (r === undefined) throw new UsageError("E_USAGE", "no zip record is open");
    this.#open = undefined;
    this.#entries.push({
      name: r.name,
      localHeaderOffset: r.offset,
      dataOffset: r.dataOffset,
      size: r.size,
      crc32: crc >>> 0,
    });
    if (r.size === 0) return EMPTY;
    const out = descriptor(crc >>> 0, r.size, r.zip64);
    this.#position += out.length;
    return out;
  }

  /** The central directory and end records that close the archive. */
  finish(): Uint8Array {
    if (this.#open) throw new UsageError("E_USAGE", `zip record '${this.#open.name}' is still open`);
    if (this.#finished) throw new UsageError("E_USAGE", "zip archive is already finished");
    this.#finished = true;
    const enc = new TextEncoder();
    const parts = this.#entries.map((e) => centralHeader(e, enc.encode(e.name)));
    const cdOffset = this.#position;
    const cdSize = parts.reduce((n, p) => n + p.length, 0);
    const n = this.#entries.length;
    const out = new Uint8Array(cdSize + ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE + EOCD_SIZE);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    const t = view(out);
    t.setUint32(at, SIG_ZIP64_EOCD, true);
    t.setBigUint64(at + 4, BigInt(ZIP64_EOCD_SIZE - 12), true);
    t.setUint16(at + 12, 0x031e, true); // made by: Unix, spec 3.0 (miniz's fixed value)
    t.setUint16(at + 14, 0x002d, true); // needed: 4.5 (zip64)
    t.setBigUint64(at + 24, BigInt(n), true);
    t.setBigUint64(at + 32, BigInt(n), true);
    t.setBigUint64(at + 40, BigInt(cdSize), true);
    t.setBigUint64(at + 48, BigInt(cdOffset), true);
    const loc = at + ZIP64_EOCD_SIZE;
    t.setUint32(loc, SIG_ZIP64_LOCATOR, true);
    t.setBigUint64(loc + 8, BigInt(cdOffset + cdSize), true);
    t.setUint32(loc + 16, 1, true);
    const eocd = loc + ZIP64_LOCATOR_SIZE;
    t.setUint32(eocd, SIG_EOCD, true);
    t.setUint16(eocd + 8, Math.min(n, U16_MAX), true);
    t.setUint16(eocd + 10, Math.min(n, U16_MAX), true);
    t.setUint32(eocd + 12, Math.min(cdSize, U32_MAX), true);
    t.setUint32(eocd + 16, Math.min(cdOffset, U32_MAX), true);
    this.#position += out.length;
    return out;
  }
}

const EMPTY = new Uint8Array(0);

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** ZIP64 extended information: the given size fields, then the local header offset when large. */
function zip64Extra(sizes: number[], offset: number | undefined): Uint8Array {
  const fields = offset === undefined ? sizes : [...sizes, offset];
  const out = new Uint8Array(4 + 8 * fields.length);
  const dv = view(out);
  dv.setUint16(0, ZIP64_EXTRA_ID, true);
  dv.setUint16(2, 8 * fields.length, true);
  fields.forEach((f, i) => dv.setBigUint64(4 + 8 * i, BigInt(f), true));
  return out;
}

function descriptor(crc: number, size: number, zip64: boolean): Uint8Array {
  const out = new Uint8Array(zip64 ? 24 : 16);
  const dv = view(out);
  dv.setUint32(0, SIG_DESCRIPTOR, true);
  dv.setUint32(4, crc, true);
  if (zip64) {
    dv.setBigUint64(8, BigInt(size), true);
    dv.setBigUint64(16, BigInt(size), true);
  } else {
    dv.setUint32(8, size, true);
    dv.setUint32(12, size, true);
  }
  return out;
}

function centralHeader(e: ZipEntry, name: Uint8Array): Uint8Array {
  const bigSize = e.size >= U32_MAX;
  const bigOffset = e.localHeaderOffset >= U32_MAX;
  const extra = bigSize || bigOffset
    ? zip64Extra(bigSize ? [e.size, e.size] : [], bigOffset ? e.localHeaderOffset : undefined)
    : EMPTY;
  const out = new Uint8Array(CENTRAL_HEADER_SIZE + name.length + extra.length);
  const dv = view(out);
  dv.setUint32(0, SIG_CENTRAL, true);
  dv.setUint16(8, e.size === 0 ? FLAGS_EMPTY : FLAGS_STREAMED, true);
  dv.setUint32(16, e.crc32, true);
  dv.setUint32(20, Math.min(e.size, U32_MAX), true);
  dv.setUint32(24, Math.min(e.size, U32_MAX), true);
  dv.setUint16(28, name.length, true);
  dv.setUint16(30, extra.length, true);
  dv.setUint32(42, Math.min(e.localHeaderOffset, U32_MAX), true);
  out.set(name, CENTRAL_HEADER_SIZE);
  out.set(extra, CENTRAL_HEADER_SIZE + name.length);
  return out;
}
