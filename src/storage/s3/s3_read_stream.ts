/**
 * One open ranged GET read bit by bit: the reads that follow each other through an object (the row bands of a
 * chunk, the records of a rank file) continue the same response instead of each sending a request of its own.
 * Every request costs a round trip before its first byte, and some S3-compatible servers pay for the whole
 * object on every ranged GET (moto reads all of it, then slices), so a converter's 4 MiB bands sent as
 * separate GETs cost far more than the bytes they carry.
 */
export class S3ReadStream {
  /** The object offset of the next byte the body will give. */
  position: number;
  /** Where the reads queued on this stream end: a read starting here (or a little after) continues it. */
  next: number;
  /** The last queued read; the next one starts when it is done. */
  tail: Promise<unknown> = Promise.resolve();
  /** Set once the body failed, ended or was cancelled: reads still queued then fetch their bytes themselves. */
  dead = false;
  /** Order of last use, for dropping the stalest stream. */
  used = 0;
  readonly #body: Promise<ReadableStreamDefaultReader<Uint8Array>>;
  #left: Uint8Array = new Uint8Array(0);

  /** `body`: the answer to a GET of the bytes from `position` on. */
  constructor(body: Promise<ReadableStream<Uint8Array>>, position: number) {
    this.#body = body.then((b) => b.getReader());
    // A failed open is seen by the reads (as `dead`), never as an unhandled rejection.
    this.#body.catch(() => (this.dead = true));
    this.position = position;
    this.next = position;
  }

  /**
   * Fills `into` with the bytes at `offset` (at or after `position`), skipping those in between. Returns how
   * many bytes it filled: all of them, or fewer when the body failed or ended (the stream is then dead).
   */
  async fill(offset: number, into: Uint8Array): Promise<number> {
    let filled = 0;
    try {
      const reader = await this.#body;
      while (filled < into.byteLength && !this.dead) {
        if (this.#left.byteLength === 0) {
          const { done, value } = await reader.read();
          if (done) break;
          this.#left = value;
        }
        const skip = Math.min(offset - this.position, this.#left.byteLength);
        let n = skip;
        if (skip <= 0) {
          n = Math.min(into.byteLength - filled, this.#left.byteLength);
          into.set(this.#left.subarray(0, n), filled);
          filled += n;
        }
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
    this.#body.then((r) => r.cancel()).catch(() => {});
  }
}
