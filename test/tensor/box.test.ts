import { describe, expect, it } from "vitest";
import { copyBox, intersectBoxes } from "../../src/tensor/box.ts";
import { contiguousStrides } from "../../src/tensor/tensor.ts";

describe("copyBox()", () => {
  it("copies a 2-d region between differently placed buffers", () => {
    // global 4x5 tensor of bytes 0..19; src holds rows 1..3, dst holds columns 2..4 of rows 0..3
    const global = Uint8Array.from({ length: 20 }, (_, i) => i);
    const srcBox = { offsets: [1, 0], sizes: [3, 5] };
    const src = global.subarray(5, 20);
    const dstBox = { offsets: [0, 2], sizes: [4, 3] };
    const dst = new Uint8Array(12).fill(255);
    const region = intersectBoxes(srcBox, dstBox)!;
    copyBox(src, srcBox, dst, dstBox, region, 1);
    expect([...dst]).toEqual([255, 255, 255, 7, 8, 9, 12, 13, 14, 17, 18, 19]);
  });

  it("reports no overlap for touching boxes", () => {
    expect(intersectBoxes({ offsets: [0], sizes: [2] }, { offsets: [2], sizes: [2] })).toBeUndefined();
  });
});

describe("contiguousStrides()", () => {
  it("counts size-0 dimensions as 1, as torch does (torch.empty(3, 0).stride() == (1, 1))", () => {
    expect(contiguousStrides([3, 0])).toEqual([1, 1]);
    expect(contiguousStrides([2, 0, 4])).toEqual([4, 4, 1]);
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(contiguousStrides([])).toEqual([]);
  });
});
