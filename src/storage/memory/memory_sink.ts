import { UsageError } from "../../errors/mod.ts";
import type { ByteSink } from "../storage.ts";

/**
 * The one in-memory `ByteSink`: gathers what is written (copied, so callers may reuse their buffers once
 * `write()` resolves) and on `close()` hands the bytes to `onClose` (how `MemoryStorage` publishes a file).
 * `bytes()` gives what is written so far. A write after `close()` or `abort()`, or a second `close()`, is
 * E_USAGE.
 */
export class MemorySink implements ByteSink {
  readonly path: string;
  readonly #onClose: ((bytes: Uint8Array) => void) | undefined;
  #buf = new Uint8Array(1024);
  #len = 0;
  #state: "open" | "closed" | "aborted" = "open";

  /** A sink named `path` (for errors) that hands its bytes to `onClose`. */
  constructor(path = "memory:", onClose?: (bytes: Uint8Array) => void) {
    this.path = path;
    this.#onClose = onClose;
  }

  get position(): number {
    return this.#len;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#state !== "open") return Promise.reject(this.#ended("write"));
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
    if (this.#state !== "open") return Promise.reject(this.#ended("close"));
    this.#state = "closed";
    // A published file keeps exactly its bytes, not the spare room of the growing buffer.
    this.#onClose?.(this.#buf.slice(0, this.#len));
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

  #ended(what: string): UsageError {
    return new UsageError("E_USAGE", `${what} after the sink was ${this.#state}`, { path: this.path });
  }
}
