import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/zip/mod.ts";
import { crc32Join, crc32OfPrefix, crc32OfSuffix, xHasFullOrder } from "../../src/zip/crc32_algebra.ts";

const bytes = fc.uint8Array({ maxLength: 600 });

describe("crc32 algebra", () => {
  it("the zip CRC polynomial is primitive: x has order 2^32 - 1, so appended bytes can be removed", () => {
    expect(xHasFullOrder()).toBe(true);
  });

  it("crc32Join() of two pieces' CRCs is the CRC of the joined bytes", () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        const joined = new Uint8Array([...a, ...b]);
        expect(crc32Join(crc32(a), crc32(b), b.length)).toBe(crc32(joined));
      }),
      { numRuns: 300 },
    );
  });

  it("crc32OfSuffix() and crc32OfPrefix() recover either piece from the whole and the other piece", () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        const whole = crc32(new Uint8Array([...a, ...b]));
        expect(crc32OfSuffix(whole, crc32(a), b.length)).toBe(crc32(b));
        expect(crc32OfPrefix(whole, crc32(b), b.length)).toBe(crc32(a));
      }),
      { numRuns: 300 },
    );
  });

  it("works for lengths far beyond 4 GiB (shifts reduce modulo the order of x)", () => {
    // Shifts reduce modulo the order of x: a piece of terabytes costs no more than a small one.
    const a = crc32(Uint8Array.of(1, 2, 3));
    const huge = 5 * 2 ** 40 + 7;
    const joined = crc32Join(a, 0x12345678, huge);
    expect(crc32OfSuffix(joined, a, huge)).toBe(0x12345678);
    expect(crc32OfPrefix(joined, 0x12345678, huge)).toBe(a);
  });

  it("a piece in the middle follows from the CRCs of the two prefixes around it", () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251);
    const [lo, hi] = [1234, 4321];
    const middle = crc32OfSuffix(crc32(data.subarray(0, hi)), crc32(data.subarray(0, lo)), hi - lo);
    expect(middle).toBe(crc32(data.subarray(lo, hi)));
  });
});
