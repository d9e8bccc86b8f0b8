import { STALLED, StallWatch } from "../stall.ts";

/** Bytes a stream keeps after reading them, so a read that starts a little before its position still joins it. */
export const STREAM_HISTORY = 64 << 10;
/**
 * Bytes of each of the two buffers a byte-stream body is read into. Each read asks for the rest of the
 * buffer in use, so one read takes whatever the connection holds (often 100-200 KiB on loopback).
 */
export const STREAM_BUFFER = 512 << 10;
/** A buffer with less room than this left is set aside for the other one (still more than STREAM_HISTORY read). */
const MIN_ROOM = 64 << 10;
/** Gaps a stream keeps at once: a newer one lets the oldest go. */
const MAX_GAPS = 2;

/**
 * One open ranged GET read bit by bit: the reads that follow each other through an object (the row bands of a
 * chunk, the records of a rank file) continue the same response instead of each sending a request of its own.
 * Every request costs a round trip before its first byte, and some S3-compatible servers pay for the whole
 * object on every ranged GET (moto reads all of it, then slices), so a converter's 4 MiB bands sent as
 * separate GETs cost far more than the bytes they carry. The last `STREAM_HISTORY` bytes read stay at hand:
 * a torch archive's header is read (16 KiB) before the record inside it, which starts a few hundred bytes in.
 * A read queued past the end of the reads before it leaves a gap, whose bytes the stream keeps as it passes
 * them (`queue`): a pipeline's reads arrive a little out of order (the band after next before the next), and
 * the late one then takes its bytes from the gap instead of a GET of its own that would overlap this one.
 *
 * Where the body is a byte stream (Deno, Node, current browsers), it is read with a BYOB reader into two
 * buffers taken in turn: a default reader hands over a fresh 64 KiB chunk per read, and those allocations and
 * reads cost about twice the CPU of the bytes' copy itself (1 GiB through Deno's fetch: ~0.75 s against
 * ~0.3 s). A BYOB read transfers the buffer it fills, so the kept bytes are then found in the new one.
 */
export class S3ReadStream {
  /** The object offsets of the first byte of the GET and of the byte after its last. */
  readonly start: number;
  readonly end: number;
  /** The object offset of the next byte the body will give. */
  position: number;
  /** Where the reads queued on this stream end: a read starting here (or a little before or after) joins it. */
  next: number;
  /** The last queued read; the next one starts when it is done. */
  tail: Promise<unknown> = Promise.resolve();
  /** Set once the body failed, ended or was cancelled: reads still queued then fetch their bytes themselves. */
  dead = false;
  /** Order of last use, for dropping the stalest stream. */
  used = 0;
  readonly #reader: Promise<ChunkReader>;
  #left: Uint8Array = new Uint8Array(0);
  /**
   * Where the bytes just before `position` lie, oldest first, at least `STREAM_HISTORY` of them once read. Kept
   * as places, not views: a view of a transferred buffer reads as empty, offset and length included.
   */
  #history: Kept[] = [];
  #historyBytes = 0;
  /** Byte ranges queued reads pass over, oldest first, with the bytes kept of them so far. */
  #gaps: Gap[] = [];

  /** Gives up a read of the body that gives nothing for the stall time: the stream then counts as dropped there. */
  readonly #watch: StallWatch;

  /** `body`: the answer to a GET of bytes `start` to `end - 1`. */
  constructor(body: Promise<ReadableStream<Uint8Array>>, start: number, end: number, stallMs: number) {
    this.#watch = new StallWatch(stallMs);
    this.#reader = body.then(chunkReader);
    // A failed open is seen by the reads (as `dead`), never as an unhandled rejection.
    this.#reader.catch(() => (this.dead = true));
    this.start = start;
    this.end = end;
    this.position = start;
    this.next = start;
  }

  /**
   * Whether a read from `offset` can join the reads queued here: at most `maxSkip` bytes past them, a little
   * before their end (kept bytes), or in a gap they leave.
   */
  reaches(offset: number, maxSkip: number): boolean {
    if (this.dead) return false;
    const follows = offset >= Math.max(this.start, this.next - STREAM_HISTORY) && offset - this.next <= maxSkip &&
      offset < this.end;
    return follows || this.#gapAt(offset) !== undefined;
  }

  /**
   * Queues a read of `length` bytes from `offset` (one this stream `reaches`): returns how many of them it will
   * give, up to the end of its window or of the gap the read falls in. A read past the end of the reads queued
   * before it leaves a gap, whose bytes are kept for a read that comes for them later.
   */
  queue(offset: number, length: number): number {
    const gap = this.#gapAt(offset);
    if (gap !== undefined) return Math.min(length, gap.end - offset);
    if (offset > this.next) {
      this.#gaps.push({ start: this.next, end: offset, bytes: new Uint8Array(offset - this.next), kept: 0, taken: 0 });
      if (this.#gaps.length > MAX_GAPS) this.#gaps.shift();
    }
    const n = Math.min(length, this.end - offset);
    this.next = Math.max(this.next, offset + n);
    return n;
  }

  /** True once the window is read through and no gap waits for its read: the stream has nothing more to give. */
  get finished(): boolean {
    return this.position === this.end && this.#gaps.length === 0;
  }

  /**
   * Fills `into` with the bytes at `offset` (kept ones first, then skipping up to it). Returns how many bytes it
   * filled: all of them, or fewer when the body failed or ended (the stream is then dead).
   */
  async fill(offset: number, into: Uint8Array): Promise<number> {
    const gap = this.#gapAt(offset);
    if (gap !== undefined) return this.#fromGap(gap, offset, into);
    let filled = this.#fromHistory(offset, into);
    // Bytes behind the position that are neither kept nor in a gap (one let go meanwhile): the caller's to fetch.
    if (offset + filled < this.position) return filled;
    try {
      const reader = await this.#reader;
      while (filled < into.byteLength && !this.dead) {
        if (this.#left.byteLength === 0) {
          const value = await this.#watch.read(
            reader.read((old, now) => this.#moved(old, now), (b) => this.#forget(b)),
          );
          if (value === undefined || value === STALLED) break;
          this.#left = value;
        }
        const skip = Math.min(offset + filled - this.position, this.#left.byteLength);
        const n = skip > 0 ? skip : Math.min(into.byteLength - filled, this.#left.byteLength);
        if (skip <= 0) {
          into.set(this.#left.subarray(0, n), filled);
          filled += n;
        } else this.#keepSkipped(this.#left.subarray(0, n));
        this.#keep(this.#left.subarray(0, n));
        this.#left = this.#left.subarray(n);
        this.position += n;
      }
    } catch {
      // A dropped connection: the caller fetches the rest itself, with its retries (as after a stall).
    }
    if (filled < into.byteLength) this.cancel();
    return filled;
  }

  /** Stops the download; reads still queued see `dead`. */
  cancel(): void {
    if (this.dead) return;
    this.dead = true;
    this.#watch.stop();
    this.#left = new Uint8Array(0);
    this.#history = [];
    this.#historyBytes = 0;
    this.#gaps = [];
    this.#reader.then((r) => r.cancel()).catch(() => {});
  }

  #gapAt(offset: number): Gap | undefined {
    return this.#gaps.find((g) => offset >= g.start && offset < g.end);
  }

  /**
   * A read within `gap` (`queue` kept it there): its bytes once the stream passed them, all of them, or none
   * when the stream died first (the caller then fetches them). Once reads took as many bytes as the gap holds,
   * it is let go.
   */
  #fromGap(gap: Gap, offset: number, into: Uint8Array): number {
    if (offset + into.byteLength > gap.start + gap.kept) return 0;
    into.set(gap.bytes.subarray(offset - gap.start, offset - gap.start + into.byteLength));
    gap.taken += into.byteLength;
    if (gap.taken >= gap.end - gap.start) this.#gaps = this.#gaps.filter((g) => g !== gap);
    return into.byteLength;
  }

  /** Bytes from `position` on that the reads pass over: the parts inside gaps are kept. */
  #keepSkipped(bytes: Uint8Array): void {
    for (const g of this.#gaps) {
      const from = Math.max(g.start + g.kept, this.position);
      const to = Math.min(g.end, this.position + bytes.byteLength);
      if (from !== g.start + g.kept || to <= from) continue;
      g.bytes.set(bytes.subarray(from - this.position, to - this.position), from - g.start);
      g.kept = to - g.start;
    }
  }

  /** Copies the kept bytes from `offset` on into `into`; returns how many (0 when `offset` is not before `position`). */
  #fromHistory(offset: number, into: Uint8Array): number {
    const back = this.position - offset;
    if (back <= 0 || back > this.#historyBytes) return 0;
    const n = Math.min(back, into.byteLength);
    // Walk the kept chunks from the newest back to the one holding `offset`, then copy forward.
    let i = this.#history.length;
    let from = this.position;
    while (from > offset) from -= this.#history[--i].length;
    let at = offset - from;
    let filled = 0;
    for (; filled < n; i++, at = 0) {
      const { buffer, offset, length } = this.#history[i];
      const chunk = new Uint8Array(buffer, offset + at, Math.min(length - at, n - filled));
      into.set(chunk, filled);
      filled += chunk.byteLength;
    }
    return filled;
  }

  #keep(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#history.push({ buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength });
    this.#historyBytes += bytes.byteLength;
    while (this.#historyBytes - this.#history[0].length >= STREAM_HISTORY) {
      this.#historyBytes -= this.#history.shift()!.length;
    }
  }

  /** A read transferred `old` into `now`: the kept bytes in it are now in `now`, at the same places. */
  #moved(old: ArrayBufferLike, now: ArrayBufferLike): void {
    for (const k of this.#history) if (k.buffer === old) k.buffer = now;
  }

  /** `buffer` is about to be written over: the kept bytes still in it (older than all others) are let go. */
  #forget(buffer: ArrayBufferLike): void {
    while (this.#history.length > 0 && this.#history[0].buffer === buffer) {
      this.#historyBytes -= this.#history.shift()!.length;
    }
  }
}

/** Bytes between queued reads, kept from `start` up to `start + kept` as the stream passes them; `taken` by reads. */
interface Gap {
  start: number;
  end: number;
  bytes: Uint8Array;
  kept: number;
  taken: number;
}

/** Where kept bytes lie. */
interface Kept {
  buffer: ArrayBufferLike;
  offset: number;
  length: number;
}

/** Reads a body chunk by chunk; `undefined` at its end. */
interface ChunkReader {
  /**
   * The next chunk. A BYOB read first says which buffer it will write over (`forget`), and after it which
   * buffer (`old`) it transferred into which (`now`).
   */
  read(
    moved: (old: ArrayBufferLike, now: ArrayBufferLike) => void,
    forget: (buffer: ArrayBufferLike) => void,
  ): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
}

/** A BYOB reader over two buffers taken in turn where `body` is a byte stream, else its default reader. */
function chunkReader(body: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = (body as ReadableStream<Uint8Array<ArrayBuffer>>).getReader({ mode: "byob" });
  } catch {
    const reader = body.getReader();
    return {
      read: async () => {
        const { done, value } = await reader.read();
        return done ? undefined : value;
      },
      cancel: () => reader.cancel(),
    };
  }
  const buffers: ArrayBuffer[] = [];
  let current = 0;
  let at = 0;
  return {
    async read(moved, forget) {
      if (buffers.length === 0) buffers.push(new ArrayBuffer(STREAM_BUFFER), new ArrayBuffer(STREAM_BUFFER));
      else if (STREAM_BUFFER - at < MIN_ROOM) {
        // The buffer in use holds more than STREAM_HISTORY bytes read since the other one was left, so the
        // other one holds none of the kept bytes any more but its oldest.
        current ^= 1;
        at = 0;
        forget(buffers[current]);
      }
      const old = buffers[current];
      const { done, value } = await byob.read(new Uint8Array(old, at, STREAM_BUFFER - at));
      if (done || value === undefined) return undefined;
      buffers[current] = value.buffer;
      moved(old, value.buffer);
      at += value.byteLength;
      return value;
    },
    cancel: () => byob.cancel(),
  };
}
