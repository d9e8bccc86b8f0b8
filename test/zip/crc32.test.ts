import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/zip/mod.ts";
import { crc32Table } from "../../src/zip/crc32.ts";

/** Bit-at-a-time CRC-32, the textbook definition the fast path must agree with. */
function crc32Reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("crc32()", () => {
  it("gives the ISO-HDLC check value for '123456789'", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("is 0 for no bytes", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("matches the bitwise definition at every length around the 16-byte stride", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff);
    for (let n = 0; n <= 70; n++) expect(crc32(data.subarray(0, n))).toBe(crc32Reference(data.subarray(0, n)));
    expect(crc32(data)).toBe(crc32Reference(data));
  });

  it("continues across pieces when given the previous value as seed", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    const whole = crc32(data);
    expect(crc32(data.subarray(333), crc32(data.subarray(0, 333)))).toBe(whole);
    expect(crc32(data.subarray(17), crc32(data.subarray(0, 17)))).toBe(whole);
  });

  it("gives the CRC FORMATS 5.2 quotes for the 154-byte data.pkl of section 5.4", () => {
    const dataPkl = hex(
      "80 02 63 74 6f 72 63 68 2e 5f 75 74 69 6c 73 0a 5f 72 65 62 75 69 6c 64 5f 74 65 6e 73 6f 72 5f",
      "76 32 0a 71 00 28 28 58 07 00 00 00 73 74 6f 72 61 67 65 71 01 63 74 6f 72 63 68 0a 46 6c 6f 61",
      "74 53 74 6f 72 61 67 65 0a 71 02 58 01 00 00 00 30 71 03 58 03 00 00 00 63 70 75 71 04 4b 06 74",
      "71 05 51 4b 00 4b 02 4b 03 86 71 06 4b 03 4b 01 86 71 07 89 63 63 6f 6c 6c 65 63 74 69 6f 6e 73",
      "0a 4f 72 64 65 72 65 64 44 69 63 74 0a 71 08 29 52 71 09 74 71 0a 52 71 0b 2e",
    );
    expect(dataPkl.length).toBe(154);
    expect(crc32(dataPkl)).toBe(0x275373c7);
  });
});

function hex(...lines: string[]): Uint8Array {
  return Uint8Array.from(lines.join(" ").split(/\s+/).map((b) => parseInt(b, 16)));
}

describe("crc32Table()", () => {
  it("agrees with crc32() (the runtime's native CRC where present) at every length and seed", () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const n of [0, 1, 15, 16, 17, 255, 256, 257, 1000, 4096, 5000]) {
      const piece = data.subarray(0, n);
      expect(crc32Table(piece)).toBe(crc32(piece));
      expect(crc32Table(piece, 0xdeadbeef)).toBe(crc32(piece, 0xdeadbeef));
      expect(crc32Table(piece)).toBe(crc32Reference(piece));
    }
  });

  it("continues a native CRC over a view into a larger buffer", () => {
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 29) & 0xff);
    const view = data.subarray(1000, 3000);
    expect(crc32(view, crc32(data.subarray(0, 1000)))).toBe(crc32Reference(data.subarray(0, 3000)));
  });
});
