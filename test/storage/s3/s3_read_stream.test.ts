import { describe, expect, it } from "vitest";
import { S3ReadStream, STREAM_BUFFER, STREAM_HISTORY } from "../../../src/storage/s3/s3_read_stream.ts";

/** Bytes that differ at every position modulo 251, so a shifted or repeated range is caught. */
function pattern(from: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((from + i) * 7) % 251;
  return out;
}

/** Where `bytes` first differs from the pattern at `from` (-1: nowhere); compared by hand, as big arrays diff slowly. */
function mismatch(bytes: Uint8Array, from: number): number {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== ((from + i) * 7) % 251) return i;
  return -1;
}

/** A stall timeout no test here reaches. */
const NO_STALL = 60_000;

/** Set by a body of `body()` when its reader cancels it. */
let cancelled = false;

/**
 * The body of a GET of `length` bytes, in pieces of at most `piece` bytes (as a connection delivers them): a
 * byte stream that answers BYOB reads in place, or a plain stream of fresh chunks (runtimes without byte streams).
 * With `stall`, it gives nothing more after its first `length` bytes (a connection that stays open, silent).
 */
function body(kind: "bytes" | "plain", length: number, piece: number, stall = false): ReadableStream<Uint8Array> {
  let at = 0;
  cancelled = false;
  const silent = () => new Promise<void>(() => {});
  const cancel = () => void (cancelled = true);
  if (kind === "plain") {
    return new ReadableStream<Uint8Array>({
      cancel,
      pull(controller) {
        if (at === length && stall) return silent();
        if (at === length) return controller.close();
        const n = Math.min(piece, length - at);
        controller.enqueue(pattern(at, n));
        at += n;
      },
    });
  }
  return new ReadableStream({
    type: "bytes",
    cancel,
    pull(controller) {
      const request = controller.byobRequest!;
      if (at === length && stall) return silent();
      if (at === length) {
        controller.close();
        request.respond(0);
        return;
      }
      const view = request.view!;
      const n = Math.min(piece, length - at, view.byteLength);
      new Uint8Array(view.buffer, view.byteOffset, n).set(pattern(at, n));
      at += n;
      request.respond(n);
    },
    autoAllocateChunkSize: 64 << 10,
  });
}

/** Reads `length` bytes at `offset`; where they first differ from the pattern (-1: they do not). */
async function readAt(stream: S3ReadStream, offset: number, length: number): Promise<number> {
  const into = new Uint8Array(length);
  expect(await stream.fill(offset, into)).toBe(length);
  return mismatch(into, offset - stream.start);
}

describe.each(["bytes", "plain"] as const)("S3ReadStream (%s body)", (kind) => {
  const length = 3 * STREAM_BUFFER + 12_345;

  it("fill() gives consecutive reads their bytes, through every buffer the body is read into", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, length, 70_001)), 0, length, NO_STALL);
    for (let at = 0; at < length; at += 300_001) {
      const n = Math.min(300_001, length - at);
      expect(await readAt(stream, at, n)).toBe(-1);
    }
    expect(stream.position).toBe(length);
  });

  it("a read that starts up to STREAM_HISTORY bytes back is served from the kept bytes, also after buffers swap", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, length, 70_001)), 0, length, NO_STALL);
    let position = 0;
    while (position + 100_003 + 500 <= length) {
      expect(await readAt(stream, position, 100_003)).toBe(-1);
      position += 100_003;
      const back = STREAM_HISTORY - 7;
      expect(await readAt(stream, position - back, back + 500)).toBe(-1);
      position += 500;
    }
    expect(stream.position).toBe(position);
  });

  it("a read past the position skips the bytes in between", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, length, 70_001)), 1000, 1000 + length, NO_STALL);
    expect(await readAt(stream, 1000 + STREAM_BUFFER - 3, 5000)).toBe(-1);
    expect(await readAt(stream, 1000 + 2 * STREAM_BUFFER, 10)).toBe(-1);
  });

  it("a read queued past the others leaves a gap whose bytes a later read takes, in pieces or whole", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, length, 70_001)), 0, length, NO_STALL);
    // Queued as a pipeline's bands arrive: the one after next first, then the next (inside the gap).
    expect(stream.queue(0, 100_000)).toBe(100_000);
    expect(stream.queue(900_000, 200_000)).toBe(200_000);
    expect(stream.reaches(500_000, 0)).toBe(true);
    expect(stream.queue(500_000, 1_000_000)).toBe(400_000); // up to the gap's end
    expect(stream.next).toBe(1_100_000);
    expect(await readAt(stream, 0, 100_000)).toBe(-1);
    expect(await readAt(stream, 900_000, 200_000)).toBe(-1);
    expect(stream.position).toBe(1_100_000);
    expect(await readAt(stream, 500_000, 400_000)).toBe(-1);
    expect(await readAt(stream, 100_000, 400_000)).toBe(-1);
    // Both pieces read through the gap's end: it is let go, and the window was read only to 1 100 000.
    expect(stream.reaches(100_000, 0)).toBe(false);
    expect(stream.finished).toBe(false);
  });

  it("a gap the stream died before passing gives its read nothing (the caller fetches it)", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, 1000, 300)), 0, 5000, NO_STALL);
    stream.queue(0, 500);
    stream.queue(3000, 100);
    expect(await readAt(stream, 0, 500)).toBe(-1);
    expect(await stream.fill(3000, new Uint8Array(100))).toBe(0);
    expect(stream.dead).toBe(true);
    expect(await stream.fill(2000, new Uint8Array(100))).toBe(0);
  });

  it("a read behind the position whose bytes are gone gets none of them, never others", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, length, 70_001)), 0, length, NO_STALL);
    expect(await readAt(stream, 0, 1_000_000)).toBe(-1);
    expect(await stream.fill(1000, new Uint8Array(500))).toBe(0);
    expect(stream.dead).toBe(false);
    expect(await readAt(stream, 1_000_000, 1000)).toBe(-1);
  });

  it("a body that gives nothing for the stall timeout fills what came before, is cancelled and marks the stream dead", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, 1000, 300, true)), 0, 5000, 50);
    const into = new Uint8Array(2000);
    expect(await stream.fill(0, into)).toBe(1000);
    expect(mismatch(into.subarray(0, 1000), 0)).toBe(-1);
    expect(stream.dead).toBe(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(cancelled).toBe(true);
  });

  it("a body that ends early fills what it had and marks the stream dead", async () => {
    const stream = new S3ReadStream(Promise.resolve(body(kind, 1000, 300)), 0, 5000, NO_STALL);
    const into = new Uint8Array(2000);
    expect(await stream.fill(0, into)).toBe(1000);
    expect(mismatch(into.subarray(0, 1000), 0)).toBe(-1);
    expect(stream.dead).toBe(true);
  });
});
