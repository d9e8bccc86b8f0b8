/**
 * Range coalescing, the one home of the rule every remote backend (HTTP, S3) follows to keep the request
 * count near the number of files: byte ranges wanted from one file are merged into one request when they
 * touch or lie closer than `maxGap`, as long as the request stays within `maxLength`. A request costs a
 * round trip; a small gap costs only its bytes.
 */
import { UsageError } from "../errors/mod.ts";
import type { ChunkSink } from "./storage.ts";

/**
 * Small requests (item headers, file sizes) a reader of a remote storage keeps in flight at once. Each costs a
 * round trip (tens of milliseconds to an object store) and few bytes, so one after another they add up to
 * seconds for a checkpoint of thousands of items; 16 at once is about what awscli (10) and browsers over
 * HTTP/2 send, and far below what S3 serves per prefix.
 */
export const REMOTE_REQUESTS_IN_FLIGHT = 16;

/** A byte range wanted from a file, with whatever the caller needs to route its bytes once they arrive. */
export interface WantedRange<T = unknown> {
  path: string;
  offset: number;
  length: number;
  tag?: T;
}

/** One request: `[offset, offset + length)` of `path`, covering `members` (sorted by offset). */
export interface RangeRequest<T = unknown> {
  path: string;
  offset: number;
  length: number;
  members: WantedRange<T>[];
}

export interface RangePlanOptions {
  /** Ranges this close (bytes between them) share a request (default 64 KiB). */
  maxGap?: number;
  /**
   * Longest request (default unbounded). A single range longer than this stays one request of its own:
   * callers that must bound memory cut their ranges first.
   */
  maxLength?: number;
}

export const DEFAULT_MAX_GAP = 64 << 10;

/**
 * The requests that fetch every wanted range: per file, in offset order; overlapping ranges share bytes.
 * Files keep the order in which they were first named.
 */
export function planRanges<T>(wanted: readonly WantedRange<T>[], options: RangePlanOptions = {}): RangeRequest<T>[] {
  const maxGap = options.maxGap ?? DEFAULT_MAX_GAP;
  const maxLength = options.maxLength ?? Number.MAX_SAFE_INTEGER;
  if (!(maxGap >= 0) || !(maxLength > 0)) {
    throw new UsageError("E_USAGE", `range plan needs maxGap >= 0 and maxLength > 0, got ${maxGap}, ${maxLength}`);
  }
  const byFile = new Map<string, WantedRange<T>[]>();
  for (const w of wanted) {
    if (!Number.isSafeInteger(w.offset) || w.offset < 0 || !Number.isSafeInteger(w.length) || w.length < 0) {
      throw new UsageError("E_USAGE", `invalid range offset=${w.offset} length=${w.length}`, { path: w.path });
    }
    let list = byFile.get(w.path);
    if (list === undefined) byFile.set(w.path, list = []);
    list.push(w);
  }
  const out: RangeRequest<T>[] = [];
  for (const [path, list] of byFile) {
    list.sort((a, b) => a.offset - b.offset || a.length - b.length);
    let current: RangeRequest<T> | undefined;
    for (const w of list) {
      const end = w.offset + w.length;
      if (current !== undefined) {
        const currentEnd = current.offset + current.length;
        const mergedLength = Math.max(currentEnd, end) - current.offset;
        if (w.offset - currentEnd <= maxGap && mergedLength <= maxLength) {
          current.length = mergedLength;
          current.members.push(w);
          continue;
        }
      }
      current = { path, offset: w.offset, length: w.length, members: [w] };
      out.push(current);
    }
  }
  return out;
}

/**
 * A backend that reads a range with one request and learns the file's size from the answer (HTTP's
 * `Content-Range`, S3's `ContentRange`), so a planned read needs no separate size probe (HEAD).
 */
export interface RangeReader {
  /**
   * Fills `into` from `offset` of `path`, or as much of it as the file holds from there (the answer ends at
   * the end of the file), with one request. Resolves with the bytes filled and the file's size.
   */
  readUpTo(path: string, offset: number, into: Uint8Array): Promise<{ filled: number; size: number }>;
  /**
   * Optional: `readUpTo` of up to `length` bytes whose answer goes to `sink` as it arrives, chunk by chunk in
   * order with each chunk's file offset (a chunk is valid only until `sink` settles), so a long range
   * streams through a small buffer and its consumer works while the rest is still on the way.
   */
  streamUpTo?(
    path: string,
    offset: number,
    length: number,
    sink: ChunkSink,
  ): Promise<{ filled: number; size: number }>;
}

export function isRangeReader(x: unknown): x is RangeReader {
  return typeof (x as { readUpTo?: unknown })?.readUpTo === "function";
}
