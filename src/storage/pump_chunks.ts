import { STALLED, StallWatch } from "./stall.ts";
import type { ChunkSink } from "./storage.ts";

/** What `pumpChunks` read: bytes handed to the sink, and whether the stream ended by itself. */
export interface Pumped {
  filled: number;
  /** False when the stream held more than `length` bytes (it was cancelled; nothing past `length` was kept). */
  ended: boolean;
  /** True when a read gave nothing for `stallMs` (the stream was cancelled; `filled` bytes came before). */
  stalled?: boolean;
}

/**
 * Reads up to `length` bytes of `stream` and hands them to `sink` in order with their position, then stops:
 * through one reused scratch buffer of at most `scratchBytes` where the stream is a byte stream (a BYOB
 * reader), else chunk by chunk as the stream makes them. With `untilEnd` (a stream whose length another
 * party announced) one byte of room is asked for past `length`, so a longer stream shows as `ended: false`
 * rather than waiting; without it (a stream of known length, e.g. a blob slice) reading stops at `length`.
 * With `stallMs`, a read that gives nothing for that long ends the pump (`stalled`). A read failure becomes
 * `readError(cause, filled)`. The stream is cancelled when not read to its end.
 */
export async function pumpChunks(
  stream: ReadableStream<Uint8Array>,
  length: number,
  sink: ChunkSink,
  readError: (cause: unknown, filled: number) => Error,
  options: { untilEnd: boolean; scratchBytes?: number; stallMs?: number },
): Promise<Pumped> {
  const scratchBytes = options.scratchBytes ?? 1 << 20;
  const byob = byobReader(stream);
  let scratch = byob ? new Uint8Array(Math.max(1, Math.min(scratchBytes, length))) : undefined;
  const reader = byob ?? stream.getReader();
  let filled = 0;
  let ended = false;
  const watch = new StallWatch(options.stallMs);
  try {
    while (options.untilEnd ? filled <= length : filled < length) {
      let chunk: ReadableStreamReadResult<Uint8Array> | typeof STALLED;
      try {
        if (byob) {
          const room = Math.max(1, Math.min(scratch!.byteLength, length - filled));
          chunk = await watch.read(byob.read(new Uint8Array(scratch!.buffer, 0, room)));
          if (chunk !== STALLED && chunk.value) scratch = new Uint8Array(chunk.value.buffer as ArrayBuffer);
        } else {
          chunk = await watch.read((reader as ReadableStreamDefaultReader<Uint8Array>).read());
        }
      } catch (cause) {
        throw readError(cause, filled);
      }
      if (chunk === STALLED) return { filled, ended: false, stalled: true };
      if (chunk.done) {
        ended = true;
        break;
      }
      const bytes = chunk.value;
      if (filled + bytes.byteLength > length) {
        if (filled < length) await sink(bytes.subarray(0, length - filled), filled);
        filled = length;
        break;
      }
      await sink(bytes, filled);
      filled += bytes.byteLength;
    }
  } finally {
    watch.stop();
    // Stops the download (or read) of whatever the stream still had to give; not awaited, as nothing here
    // depends on when the source below acknowledges it.
    if (!ended) reader.cancel().catch(() => {});
    try {
      reader.releaseLock();
    } catch {
      // An older streams implementation refuses while the abandoned read of a stalled stream is pending.
    }
  }
  return { filled, ended };
}

/** A BYOB reader of a byte stream, or undefined where the runtime's streams are not byte streams. */
function byobReader(stream: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return (stream as ReadableStream<Uint8Array<ArrayBuffer>>).getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}
