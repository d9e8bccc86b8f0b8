import { readSourceInto } from "./byte_source.ts";
import type { ByteSink, StoredRange } from "./storage.ts";

/** Bytes a stored range is read in at a time when it has to be read (a buffer reused for each piece). */
const READ_PIECE_BYTES = 8 << 20;

/** Reads a stored range piece by piece; each piece is only valid during its `onPiece` call. */
export async function readStoredRange(range: StoredRange, onPiece: (bytes: Uint8Array) => Promise<void> | void) {
  const scratch = new Uint8Array(Math.min(range.length, READ_PIECE_BYTES));
  for (let done = 0; done < range.length; done += scratch.byteLength) {
    const piece = scratch.subarray(0, Math.min(scratch.byteLength, range.length - done));
    await readSourceInto(range.source, range.offset + done, piece);
    await onPiece(piece);
  }
}

/**
 * Appends a stored range to `sink`: copied by the sink where it can (then nothing is read and `onRead` is
 * not called), else read piece by piece, each piece shown to `onRead` and written. Resolves to whether the
 * sink copied it.
 */
export async function appendStoredRange(
  sink: ByteSink,
  range: StoredRange,
  onRead?: (bytes: Uint8Array) => void,
): Promise<boolean> {
  if (sink.copyFrom !== undefined && (await sink.copyFrom(range.source, range.offset, range.length))) return true;
  await readStoredRange(range, async (piece) => {
    onRead?.(piece);
    await sink.write(piece);
  });
  return false;
}

export function isStoredRange(piece: Uint8Array | StoredRange): piece is StoredRange {
  return !(piece instanceof Uint8Array);
}
