import { IntegrityError } from "../errors/mod.ts";

/**
 * Writes bytes at any offset of a GPU buffer, in any order: `queue.writeBuffer` takes only 4-byte aligned
 * offsets and sizes, so the aligned middle of each write goes straight to the queue and its unaligned ends
 * wait in 4-byte words until every byte of the word has arrived (pieces of one tensor arrive from
 * different requests, in whatever order they finish). The buffer's bytes past `byteLength` are padding.
 */
export class GpuPartWriter {
  readonly #words = new Map<number, { bytes: Uint8Array; filled: number }>();

  constructor(
    private readonly queue: GPUQueue,
    readonly buffer: GPUBuffer,
    /** Bytes of data the buffer holds (its size is this, rounded up to 4). */
    readonly byteLength: number,
    /** For errors: what the buffer holds. */
    readonly name: string,
  ) {}

  /** Writes `bytes` at `offset`; the queue copies them at once, so the caller may reuse `bytes` on return. */
  write(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.byteLength;
    const a = Math.min(Math.ceil(offset / 4) * 4, end);
    const b = Math.max(a, Math.floor(end / 4) * 4);
    if (a > offset) this.#edge(offset, bytes.subarray(0, a - offset));
    if (b > a) this.queue.writeBuffer(this.buffer, a, bytes, a - offset, b - a);
    if (end > b) this.#edge(b, bytes.subarray(b - offset));
  }

  /** Fails when some word never got all its bytes (a plan that missed part of the buffer). */
  finish(): void {
    for (const [word] of this.#words) {
      throw new IntegrityError("E_GAP", `bytes ${word * 4}..${word * 4 + 3} of the buffer were never written`, {
        path: this.name,
        offset: word * 4,
      });
    }
  }

  /** Bytes that do not fill their word alone: kept until the word is complete. */
  #edge(offset: number, bytes: Uint8Array): void {
    let at = offset;
    let rest = bytes;
    while (rest.byteLength > 0) {
      const word = Math.floor(at / 4);
      const within = at - word * 4;
      const take = Math.min(4 - within, rest.byteLength);
      let w = this.#words.get(word);
      if (w === undefined) this.#words.set(word, w = { bytes: new Uint8Array(4), filled: 0 });
      w.bytes.set(rest.subarray(0, take), within);
      w.filled += take;
      if (w.filled >= Math.min(4, this.byteLength - word * 4)) {
        this.queue.writeBuffer(this.buffer, word * 4, w.bytes, 0, 4);
        this.#words.delete(word);
      }
      at += take;
      rest = rest.subarray(take);
    }
  }
}
