import { UsageError } from "../errors/mod.ts";
import type { ByteSink } from "../storage/mod.ts";

/**
 * A `ByteSink` that gathers everything in memory, for callers that want an archive as one `Uint8Array`
 * (`encodeTorch`, a DCP item assembled before it is appended to a rank file).
 */
export class BufferSink implements ByteSink {
  readonly path: string;
  #buf = new Uint8Array(1024);
  #len = 0;
  #state: "open" | "closed" | "aborted" = "open";

  constructor(path = "memory:") {
    this.path = path;
  }

  get position(): number {
    return this.#len;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(new UsageError("E_USAGE", `write after ${this.#state}`, { path: this.path }));
    }
    if (this.#len + bytes.byteLength > this.#buf.length) {
      // Doubling keeps appends amortised O(1) without one tiny write per header forcing a copy.
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + bytes.byteLength));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.byteLength;
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.#state === "open") this.#state = "closed";
    return Promise.resolve();
  }

  abort(): Promise<void> {
    this.#state = "aborted";
    this.#buf = new Uint8Array(0);
    this.#len = 0;
    return Promise.resolve();
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
