import type { Inflate } from "fflate/browser";
import { FormatError } from "../errors/mod.ts";
import { checkReadRange } from "../storage/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import type { ZipEntry } from "./zip_entry.ts";

/** Bounds on deflated zip entries, checked against the central directory before any byte is inflated. */
export interface InflateLimits {
  /** Largest declared uncompressed size of one entry. */
  maxEntryBytes: number;
  /** Largest declared uncompressed/compressed ratio of one entry. */
  maxRatio: number;
}

/**
 * Deflate cannot do better than about 1032:1 (a 258-byte match per 2-bit code), and real tensors reach it
 * (all-zero buffers), so a larger declared ratio can only be a lie; callers that know their data lower it.
 * Entries are streamed, never held whole, so the size bound is about time, not memory.
 */
export const DEFAULT_INFLATE_LIMITS: Readonly<InflateLimits> = { maxEntryBytes: 2 ** 40, maxRatio: 1032 };

/**
 * Compressed bytes pushed to the inflater at a time. One push yields at most this times the ratio (32 MiB
 * at deflate's ceiling, about 36 KiB for real weights), which is what a source keeps between reads; pushes
 * of 8 KiB took 2.6x as long as 256 KiB ones on a 1.1 MB record, 32 KiB about 1.3x.
 */
const INPUT_CHUNK = 32 << 10;

interface Where {
  path: string;
  /** Offset of the archive inside `path`, added to offsets in errors. */
  baseOffset: number;
}

/** Refuses a deflated entry whose declared sizes break `limits` (E_ZIP_BOMB naming the limit). */
export function checkInflateLimits(entry: ZipEntry, limits: InflateLimits, where: Where): void {
  const compressed = entry.deflated?.compressedSize ?? entry.size;
  const fail = (message: string) =>
    new FormatError("E_ZIP_BOMB", message, { path: where.path, offset: where.baseOffset + entry.localHeaderOffset });
  if (entry.size > limits.maxEntryBytes) {
    throw fail(
      `entry '${entry.name}' declares ${entry.size} bytes inflated, over the limit of ${limits.maxEntryBytes}`,
    );
  }
  if (entry.size > compressed * limits.maxRatio) {
    throw fail(
      `entry '${entry.name}' declares ${entry.size} bytes from ${compressed} compressed, a ratio over the ` +
        `limit of ${limits.maxRatio}`,
    );
  }
}

/**
 * fflate, loaded when a first deflated entry is read: torch.save stores its records uncompressed, so most
 * runs never need it, and its module builds its Huffman tables when it loads. Its browser build: the Node one
 * loads Node's worker_threads (and under Deno, Deno's whole Node layer) for workers this code never starts.
 */
let fflate: Promise<typeof import("fflate/browser")> | undefined;

/**
 * The inflated bytes of a deflated entry as a `ByteSource` of its declared size. Reads stream the entry
 * from its start and keep only what they return plus the inflater's 32 KiB window and one output chunk,
 * so a run of reads in ascending order inflates the entry once; a read behind the last one starts over.
 * The stream may never produce more than the declared size, and must produce exactly that much.
 */
export function inflatedSource(source: ByteSource, entry: ZipEntry, where: Where): ByteSource {
  const compressedSize = entry.deflated?.compressedSize ?? 0;
  const dataAt = where.baseOffset + entry.dataOffset;
  const fail = (message: string, consumed: number) =>
    new FormatError("E_INFLATE", `entry '${entry.name}': ${message}`, { path: where.path, offset: dataAt + consumed });

  let inflater: Inflate | undefined;
  let consumed = 0; // compressed bytes pushed
  let produced = 0; // inflated bytes seen so far
  let ended = false;
  let carry: Uint8Array = new Uint8Array(0); // inflated bytes not yet returned, ending at `produced`
  const restart = async () => {
    const { Inflate } = await (fflate ??= import("fflate/browser"));
    inflater = new Inflate((chunk, final) => {
      if (produced + chunk.length > entry.size) {
        throw fail(`inflates past its declared size of ${entry.size} bytes`, consumed);
      }
      produced += chunk.length;
      carry = carry.length === 0 ? chunk : concat(carry, chunk);
      if (final) {
        ended = true;
        if (produced !== entry.size) {
          throw fail(`inflates to ${produced} bytes, its declared size is ${entry.size}`, consumed);
        }
      }
    });
    consumed = 0;
    produced = 0;
    ended = false;
    carry = new Uint8Array(0);
  };
  const pump = async () => {
    const n = Math.min(INPUT_CHUNK, compressedSize - consumed);
    const input = await source.read(entry.dataOffset + consumed, n);
    const final = consumed + n === compressedSize;
    try {
      inflater!.push(input, final);
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw fail(`deflate stream is corrupt (${e instanceof Error ? e.message : String(e)})`, consumed);
    }
    consumed += n;
    if (final && !ended) throw fail("deflate stream ends before its last block", consumed);
  };

  const readOnce = async (offset: number, into: Uint8Array): Promise<void> => {
    checkReadRange(where.path, entry.size, offset, into.byteLength, dataAt);
    if (inflater === undefined || offset < produced - carry.length) await restart();
    let filled = 0;
    while (filled < into.byteLength) {
      const carryStart = produced - carry.length;
      const want = offset + filled;
      if (want < produced) {
        const piece = carry.subarray(
          want - carryStart,
          Math.min(carry.length, want - carryStart + into.byteLength - filled),
        );
        into.set(piece, filled);
        filled += piece.length;
        carry = carry.subarray(want - carryStart + piece.length);
        continue;
      }
      carry = new Uint8Array(0); // everything before `want` is not asked for
      if (ended) throw fail(`ends at ${produced} bytes, before ${want}`, consumed);
      await pump();
    }
  };
  // One inflater serves every reader, so reads take turns; a failed read leaves it to be started over.
  let queue = Promise.resolve();
  const readInto = (offset: number, into: Uint8Array): Promise<void> => {
    const run = queue.then(() =>
      readOnce(offset, into).catch((e) => {
        inflater = undefined;
        throw e;
      })
    );
    queue = run.catch(() => {});
    return run;
  };
  return {
    path: where.path,
    size: entry.size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      await readInto(offset, out);
      return out;
    },
    readInto,
    close(): Promise<void> {
      inflater = undefined;
      carry = new Uint8Array(0);
      return Promise.resolve();
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
