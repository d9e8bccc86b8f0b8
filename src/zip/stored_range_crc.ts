import type { StoredRange } from "../storage/mod.ts";
import { readStoredRange } from "../storage/mod.ts";
import { crc32 } from "./crc32.ts";

/** The CRC-32 of a stored range, worked out by reading it piece by piece. */
export async function crc32OfStoredRange(range: StoredRange): Promise<number> {
  let crc = 0;
  await readStoredRange(range, (piece) => {
    crc = crc32(piece, crc);
  });
  return crc;
}
