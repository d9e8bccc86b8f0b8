import { invariant } from "../errors/mod.ts";
import { readSourceInto } from "./byte_source.ts";
import type { BytePiece, ByteSink, MadeRange, StoredRange } from "./storage.ts";

/** Bytes a stored range is read in at a time when it has to be read. */
const READ_PIECE_BYTES = 8 << 20;
/** Scratch buffers kept for the next reads: fresh memory costs a page fault per 4 KiB on first touch. */
const spare: ArrayBuffer[] = [];
const MAX_SPARE = 4;

/** Reads a stored range piece by piece; each piece is only valid during its `onPiece` call. */
export async function readStoredRange(range: StoredRange, onPiece: (bytes: Uint8Array) => Promise<void> | void) {
  if (range.length === 0) return;
  const buffer = spare.pop() ?? new ArrayBuffer(READ_PIECE_BYTES);
  try {
    const scratch = new Uint8Array(buffer, 0, Math.min(range.length, READ_PIECE_BYTES));
    for (let done = 0; done < range.length; done += scratch.byteLength) {
      const piece = scratch.subarray(0, Math.min(scratch.byteLength, range.length - done));
      await readSourceInto(range.source, range.offset + done, piece);
      await onPiece(piece);
    }
  } finally {
    if (spare.length < MAX_SPARE) spare.push(buffer);
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

/** True for a stored range piece of a `ByteStream`. */
export function isStoredRange(piece: BytePiece): piece is StoredRange {
  return !(piece instanceof Uint8Array) && "source" in piece;
}

/** The bytes a piece of a `ByteStream` stands for. */
export function pieceLength(piece: BytePiece): number {
  return piece instanceof Uint8Array ? piece.byteLength : piece.length;
}

/**
 * Appends a made range to `sink`. Where the sink takes made ranges (`makeFrom`) and the caller needs no
 * bytes (no `onBytes`, or a maker that works out their CRC-32: `piece.crc32`), the sink makes it, and this
 * resolves to `{ made }`, what `make` resolves to (the CRC-32 where `piece.crc32`). Else it is made here,
 * shown to `onBytes` and written, and this resolves to undefined.
 */
export async function appendMadeRange(
  sink: ByteSink,
  piece: MadeRange,
  onBytes?: (bytes: Uint8Array) => void,
): Promise<{ made: Promise<number | undefined> } | undefined> {
  if (sink.makeFrom !== undefined && (onBytes === undefined || piece.crc32)) {
    let made: Promise<number | undefined> | undefined;
    if (await sink.makeFrom({ ...piece, make: (io) => (made = piece.make(io)) })) {
      invariant(made !== undefined, "a sink that took a made range has started making it");
      return { made };
    }
  }
  const bytes = await piece.bytes();
  onBytes?.(bytes);
  await sink.write(bytes);
  return undefined;
}
