import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Sha256 } from "../../src/cache/sha256.ts";

describe("Sha256", () => {
  it("gives the FIPS 180-4 digests of the empty string and 'abc'", () => {
    expect(new Sha256().hex()).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(new Sha256().update(new TextEncoder().encode("abc")).hex())
      .toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("equals node:crypto's digest however the bytes are cut into pieces", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(200), { maxLength: 8 }), (bytes, cuts) => {
        const h = new Sha256();
        let at = 0;
        for (const c of cuts) {
          h.update(bytes.subarray(at, Math.min(bytes.byteLength, at + c)));
          at = Math.min(bytes.byteLength, at + c);
        }
        h.update(bytes.subarray(at));
        expect(h.hex()).toBe(createHash("sha256").update(bytes).digest("hex"));
      }),
      { numRuns: 300 },
    );
  });
});
