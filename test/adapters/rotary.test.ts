import { describe, expect, it } from "vitest";
import { rotaryFromHfRows, rotaryToHfRows } from "../../src/adapters/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";

/** Applies "target row i = source row perm[i]" to a row-major byte buffer, as the convert job will. */
function gatherRows(data: Uint8Array, perm: Int32Array): Uint8Array {
  const rowBytes = data.length / perm.length;
  const out = new Uint8Array(data.length);
  perm.forEach((src, i) => out.set(data.subarray(src * rowBytes, (src + 1) * rowBytes), i * rowBytes));
  return out;
}

describe("rotary row permutations", () => {
  it("rotaryToHfRows() gives FORMATS.md 8.3's wq example: 2 heads of 4 rows -> r0 r2 r1 r3 r4 r6 r5 r7", () => {
    expect(Array.from(rotaryToHfRows(2, 8))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it("rotaryToHfRows() puts one head of 8 rows in the order 0,2,4,6,1,3,5,7", () => {
    expect(Array.from(rotaryToHfRows(1, 8))).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
  });

  it("rotaryToHfRows() moves whole rows of a GQA wk [8,16] (2 kv heads, head_dim 4), columns untouched", () => {
    const wk = Uint8Array.from({ length: 8 * 16 }, (_, i) => i);
    const hf = gatherRows(wk, rotaryToHfRows(2, 8));
    const rowOrder = Array.from({ length: 8 }, (_, r) => hf[r * 16] / 16);
    expect(rowOrder).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    for (let r = 0; r < 8; r++) {
      expect(Array.from(hf.subarray(r * 16, r * 16 + 16))).toEqual(
        Array.from({ length: 16 }, (_, c) => rowOrder[r] * 16 + c),
      );
    }
  });

  it("rotaryFromHfRows() is the inverse of rotaryToHfRows() for every head count", () => {
    for (const [heads, rows] of [[2, 8], [1, 8], [16, 256], [8, 1024], [128, 16384]]) {
      const toHf = rotaryToHfRows(heads, rows);
      const fromHf = rotaryFromHfRows(heads, rows);
      for (let i = 0; i < rows; i++) expect(toHf[fromHf[i]]).toBe(i);
    }
  });

  it("rotaryFromHfRows() then rotaryToHfRows() restores bf16 bytes exactly", () => {
    const rows = 32;
    const data = Uint8Array.from({ length: rows * 6 }, (_, i) => (i * 37 + 11) & 0xff);
    const roundTrip = gatherRows(gatherRows(data, rotaryToHfRows(4, rows)), rotaryFromHfRows(4, rows));
    expect(roundTrip).toEqual(data);
  });

  it("rotaryToHfRows() rejects rows that do not split into even-sized heads", () => {
    expect(() => rotaryToHfRows(3, 8)).toThrow(WebdcpError);
    expect(() => rotaryToHfRows(4, 12)).toThrow(/odd/);
    expect(() => rotaryFromHfRows(0, 8)).toThrow(/E_USAGE/);
  });
});
