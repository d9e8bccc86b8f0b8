import { UsageError } from "../errors/mod.ts";
import type { ByteSource, ChecksummedRecord } from "../storage/mod.ts";
import { crc32OfPrefix, crc32OfSuffix } from "./crc32_algebra.ts";
import { crc32OfStoredRange } from "./stored_range_crc.ts";

/**
 * A zip record whose CRC-32 is known (its directory says so and the archive's CRCs proved true), so the
 * CRC of a run `[a, b)` of it follows from the CRCs of its prefixes up to `a` and up to `b`. The prefix up
 * to a cut is found by reading the shorter side of the cut (the other side follows from the whole), once per
 * cut however many runs end there: a record split in two by a reshard costs reading its smaller part, not
 * all of it. `start` and `length` place the record's data in `source`.
 */
export function checksummedRecord(source: ByteSource, start: number, length: number, crc: number): ChecksummedRecord {
  const end = start + length;
  const prefixes = new Map<number, Promise<number>>([[start, Promise.resolve(0)], [end, Promise.resolve(crc)]]);
  const prefix = (at: number): Promise<number> => {
    let known = prefixes.get(at);
    if (known === undefined) {
      known = at - start <= end - at
        ? crc32OfStoredRange({ source, offset: start, length: at - start })
        : crc32OfStoredRange({ source, offset: at, length: end - at }).then((suffix) =>
          crc32OfPrefix(crc, suffix, end - at)
        );
      prefixes.set(at, known);
    }
    return known;
  };
  return {
    async crc32(a: number, b: number): Promise<number> {
      if (!(start <= a && a <= b && b <= end)) {
        throw new UsageError("E_USAGE", `run [${a}, ${b}) is outside the record [${start}, ${end})`, {
          path: source.path,
        });
      }
      const [before, through] = await Promise.all([prefix(a), prefix(b)]);
      return crc32OfSuffix(through, before, b - a);
    },
  };
}
