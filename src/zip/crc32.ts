import { hostModule } from "../tasks/mod.ts";
/**
 * Standard zip CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, init and xor-out 0xFFFFFFFF). It runs
 * over every byte of multi-GB checkpoints: Deno and Node (>= 20.15) ship zlib's SIMD CRC-32 as
 * `node:zlib`'s `crc32(data, value)` (several times faster than any JS); elsewhere (browsers) a
 * slicing-by-16 table does it, since one lookup per byte is too slow.
 */
const SLICES = 16;
let tables: Uint32Array | undefined; // built on the first CRC: every start of the CLI loads this module

function buildTables(): Uint32Array {
  const t = new Uint32Array(256 * SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let s = 1; s < SLICES; s++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(s - 1) * 256 + n];
      t[s * 256 + n] = (t[prev & 0xff] ^ (prev >>> 8)) >>> 0;
    }
  }
  return t;
}

type NativeCrc32 = (data: Uint8Array, value: number) => number;

/** Below this the call into native code costs more than the table loop. */
const NATIVE_MIN_BYTES = 256;
/**
 * Bytes the table checks before the native CRC is looked up. Under Deno the lookup loads Deno's Node
 * compatibility layer (some 20 ms of CPU: more than `webdcp inspect` of a torch.save file takes otherwise),
 * which the table's few MiB cost less than; the first call that would take the table past them (a job over
 * GBs soon makes one) looks it up.
 */
const TABLE_BYTES_FIRST = "Deno" in globalThis ? 4 << 20 : 0;
let tableBytes = 0;

/** The runtime's zlib CRC-32 (browsers have none and get `null`, then the table). */
function findNativeCrc32(): NativeCrc32 | null {
  const zlib = hostModule<{ crc32?: NativeCrc32 }>("node:zlib");
  return typeof zlib?.crc32 === "function" ? zlib.crc32 : null;
}

let nativeCrc32: NativeCrc32 | null | undefined;

/**
 * CRC-32 of `bytes`. Pass the previous result as `seed` to continue a CRC over data that arrives in pieces:
 * `crc32(b, crc32(a)) === crc32(a ++ b)`.
 */
export function crc32(bytes: Uint8Array, seed = 0): number {
  if (bytes.length >= NATIVE_MIN_BYTES) {
    if (nativeCrc32 === undefined && tableBytes + bytes.length > TABLE_BYTES_FIRST) nativeCrc32 = findNativeCrc32();
    if (nativeCrc32) return nativeCrc32(bytes, seed >>> 0) >>> 0;
    tableBytes += bytes.length;
  }
  return crc32Table(bytes, seed);
}

/** The portable slicing-by-16 CRC-32 (same results as `crc32`), used where no native one exists. */
export function crc32Table(bytes: Uint8Array, seed = 0): number {
  const t = tables ??= buildTables();
  let crc = ~seed >>> 0;
  let i = 0;
  const n = bytes.length;
  const end16 = n - (n % 16);
  while (i < end16) {
    const a = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) ^ crc;
    const b = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    const c = bytes[i + 8] | (bytes[i + 9] << 8) | (bytes[i + 10] << 16) | (bytes[i + 11] << 24);
    const d = bytes[i + 12] | (bytes[i + 13] << 8) | (bytes[i + 14] << 16) | (bytes[i + 15] << 24);
    crc = t[3840 + (a & 0xff)] ^ t[3584 + ((a >>> 8) & 0xff)] ^ t[3328 + ((a >>> 16) & 0xff)] ^
      t[3072 + (a >>> 24)] ^
      t[2816 + (b & 0xff)] ^ t[2560 + ((b >>> 8) & 0xff)] ^ t[2304 + ((b >>> 16) & 0xff)] ^ t[2048 + (b >>> 24)] ^
      t[1792 + (c & 0xff)] ^ t[1536 + ((c >>> 8) & 0xff)] ^ t[1280 + ((c >>> 16) & 0xff)] ^ t[1024 + (c >>> 24)] ^
      t[768 + (d & 0xff)] ^ t[512 + ((d >>> 8) & 0xff)] ^ t[256 + ((d >>> 16) & 0xff)] ^ t[d >>> 24];
    i += 16;
  }
  while (i < n) crc = t[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
