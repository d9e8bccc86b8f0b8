import { describe, expect, test } from "vitest";
import { checkTiling } from "../../src/dcp/mod.ts";

const box = (offsets: number[], sizes: number[]) => ({ offsets, sizes });
const codes = (shape: number[], boxes: ReturnType<typeof box>[], mode?: "exact" | "sharded" | "never") =>
  checkTiling(shape, boxes, mode).map((p) => p.code);

describe("checkTiling()", () => {
  test("a lone partial chunk is a gap only when the tiling must be exact", () => {
    const half = [box([0, 0], [2, 4])];
    expect(codes([4, 4], half, "exact")).toEqual(["E_GAP"]);
    expect(codes([4, 4], half, "sharded")).toEqual([]);
    expect(codes([4, 4], half, "never")).toEqual([]);
  });

  test("several chunks with a hole are a gap unless coverage is not asked for", () => {
    const holed = [box([0], [2]), box([3], [1])];
    expect(codes([4], holed, "exact")).toEqual(["E_GAP"]);
    expect(codes([4], holed, "sharded")).toEqual(["E_GAP"]);
    expect(codes([4], holed, "never")).toEqual([]);
  });

  test("no chunks for a tensor with elements is a gap in every mode", () => {
    for (const mode of ["exact", "sharded", "never"] as const) expect(codes([3], [], mode)).toEqual(["E_GAP"]);
  });

  test("reports out-of-bounds and wrong-rank chunks and the first overlap, with the code a reader throws", () => {
    // One overlap, not every pair: n copies of a chunk would make n^2 / 2 (test/dcp/tiling.test.ts).
    const problems = checkTiling([4], [
      box([0], [2]),
      box([1], [2]),
      box([2], [2]),
      box([3], [2]),
      box([0, 0], [1, 1]),
    ]);
    expect(problems.map((p) => p.code)).toEqual(["E_OUT_OF_RANGE", "E_SHAPE", "E_OVERLAP"]);
    expect(problems[2].message).toEqual("chunks at [0] and [1] overlap");
  });

  test("a 0-d tensor needs exactly one chunk only when exact", () => {
    expect(codes([], [box([], []), box([], [])], "exact")).toEqual(["E_OVERLAP"]);
    expect(codes([], [box([], []), box([], [])], "sharded")).toEqual([]);
  });
});
