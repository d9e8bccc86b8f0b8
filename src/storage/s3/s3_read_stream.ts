/** Bytes a stream keeps after reading them, so a read that starts a little before its position still joins it. */
export const STREAM_HISTORY = 64 << 10;

/**
 * One open ranged GET read bit by bit: the reads that follow each other through an object (the row bands of a
 * chunk, the records of a rank file) continue the same response instead of each sending a request of its own.
 * Every request costs a round trip before its first byte, and some S3-compatible servers pay for the whole
 * object on every ranged GET (moto reads all of it, then slices), so a converter's 4 MiB bands sent as
 * separate GETs cost far more than the bytes they carry. The last `STREAM_HISTORY` bytes read stay at hand:
 * a torch archive's header is read (16 KiB) before the record inside it, which starts a few hundred bytes in.
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
  readonly #body: Promise<ReadableStreamDefaultReader<Uint8Array>>;
  #left: Uint8Array = new Uint8Array(0);
  /** The bytes just before `position`, oldest first, at least `STREAM_HISTORY` of them once read. */
  readonly #history: Uint8Array[] = [];
  #historyBytes = 0;

  /** `body`: the answer to a GET of bytes `start` to `end - 1`. */
  constructor(body: Promise<ReadableStream<Uint8Array>>, start: number, end: number) {
    this.#body = body.then((b) => b.getReader());
    // A failed open is seen by the reads (as `dead`), never as an unhandled rejection.
    this.#body.catch(() => (this.dead = true));
    this.start = start;
    this.end = end;
    this.position = start;
    this.next = start;
  }

  /** Whether a read from `offset` can join the reads queued here (bytes before it skipped, or still kept). */
  reaches(offset: number, maxSkip: number): boolean {
    return !this.dead && offset >= Math.max(this.start, this.next - STREAM_HISTORY) && offset - this.next <= maxSkip &&
      offset < this.end;
  }

  /**
   * Fills `into` with the bytes at `offset` (kept ones first, then skipping up to it). Returns how many bytes it
   * filled: all of them, or fewer when the body failed or ended (the stream is then dead).
   */
  async fill(offset: number, into: Uint8Array): Promise<number> {
    let filled = this.#fromHistory(offset, into);
    try {
      const reader = await this.#body;
      while (filled < into.byteLength && !this.dead) {
        if (this.#left.byteLength === 0) {
          const { done, value } = await reader.read();
          if (done) break;
          this.#left = value;
        }
        const skip = Math.min(offset + filled - this.position, this.#left.byteLength);
        const n = skip > 0 ? skip : Math.min(into.byteLength - filled, this.#left.byteLength);
        if (skip <= 0) {
          into.set(this.#left.subarray(0, n), filled);
          filled += n;
        }
        this.#keep(this.#left.subarray(0, n));
        this.#left = this.#left.subarray(n);
        this.position += n;
      }
    } catch {
      // A dropped connection: the caller fetches the rest itself, with its retries.
    }
    if (filled < into.byteLength) this.cancel();
    return filled;
  }

  /** Stops the download; reads still queued see `dead`. */
  cancel(): void {
    if (this.dead) return;
    this.dead = true;
    this.#left = new Uint8Array(0);
    this.#history.length = 0;
    this.#historyBytes = 0;
    this.#body.then((r) => r.cancel()).catch(() => {});
  }

  /** Copies the kept bytes from `offset` on into `into`; returns how many (0 when `offset` is not before `position`). */
  #fromHistory(offset: number, into: Uint8Array): number {
    const back = this.position - offset;
    if (back <= 0 || back > this.#historyBytes) return 0;
    const n = Math.min(back, into.byteLength);
    // Walk the kept chunks from the newest back to the one holding `offset`, then copy forward.
    let i = this.#history.length;
    let from = this.position;
    while (from > offset) from -= this.#history[--i].byteLength;
    let at = offset - from;
    let filled = 0;
    for (; filled < n; i++, at = 0) {
      const chunk = this.#history[i].subarray(at, at + n - filled);
      into.set(chunk, filled);
      filled += chunk.byteLength;
    }
    return filled;
  }

  #keep(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#history.push(bytes);
    this.#historyBytes += bytes.byteLength;
    while (this.#historyBytes - this.#history[0].byteLength >= STREAM_HISTORY) {
      this.#historyBytes -= this.#history.shift()!.byteLength;
    }
  }
}
