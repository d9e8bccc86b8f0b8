import { describe, expect, test } from "vitest";
import { chunkRanges, dimSplitLayout, layoutToJson, parseLayoutJson } from "../../src/dcp/layout.ts";
import { meshLayout } from "../../src/adapters/llama3/mesh_layout.ts";
import { checkTiling } from "../../src/dcp/tiling.ts";
import { UsageError } from "../../src/errors/mod.ts";

describe("layouts", () => {
  test("chunkRanges() splits like torch.chunk, leaving trailing pieces empty", () => {
    expect(chunkRanges(10, 4)).toEqual([[0, 3], [3, 3], [6, 3], [9, 1]]);
    expect(chunkRanges(2, 3)).toEqual([[0, 1], [1, 1], [2, 0]]);
  });

  test("dimSplitLayout() drops empty chunks and keeps the rest tiling the tensor", () => {
    const boxes = dimSplitLayout(3, 0).boxesFor("w", [2, 5]);
    expect(boxes).toEqual([
      { rank: 0, offsets: [0, 0], sizes: [1, 5] },
      { rank: 1, offsets: [1, 0], sizes: [1, 5] },
    ]);
    expect(checkTiling([2, 5], boxes)).toEqual([]);
  });

  test("dimSplitLayout() gives 0-d and too-low-rank tensors whole to rank 0", () => {
    expect(dimSplitLayout(4, 1).boxesFor("b", [6])).toEqual([{ rank: 0, offsets: [0], sizes: [6] }]);
    expect(dimSplitLayout(4).boxesFor("s", [])).toEqual([{ rank: 0, offsets: [], sizes: [] }]);
  });

  test("meshLayout() splits colwise weights on dim 0 by TP then FSDP, rowwise on dim 1", () => {
    const l = meshLayout(2, 2);
    expect(l.ranks).toBe(4);
    const wq = l.boxesFor("layers.0.attention.wq.weight", [8, 4]);
    expect(wq).toEqual([
      { rank: 0, offsets: [0, 0], sizes: [2, 4] },
      { rank: 2, offsets: [2, 0], sizes: [2, 4] },
      { rank: 1, offsets: [4, 0], sizes: [2, 4] },
      { rank: 3, offsets: [6, 0], sizes: [2, 4] },
    ]);
    const wo = l.boxesFor("layers.0.attention.wo.weight", [4, 8]);
    expect(wo.map((b) => [b.rank, b.offsets, b.sizes])).toEqual([
      [0, [0, 0], [2, 4]],
      [2, [2, 0], [2, 4]],
      [1, [0, 4], [2, 4]],
      [3, [2, 4], [2, 4]],
    ]);
    for (const [n, s] of [["x.wq.weight", [8, 4]], ["x.wo.weight", [4, 8]], ["norm.weight", [5]]] as const) {
      expect(checkTiling(s, l.boxesFor(n, [...s]))).toEqual([]);
    }
  });

  test("meshLayout() stores a TP-replicated tensor once per FSDP piece", () => {
    expect(meshLayout(2, 2).boxesFor("norm.weight", [4]).map((b) => b.rank)).toEqual([0, 2]);
  });

  test("parseLayoutJson() round-trips layoutToJson() output", () => {
    const text = layoutToJson(meshLayout(1, 2), [{ name: "w1.weight", shape: [4, 2] }]);
    const l = parseLayoutJson(text);
    expect(l.ranks).toBe(2);
    expect(l.boxesFor("w1.weight", [4, 2])).toEqual(meshLayout(1, 2).boxesFor("w1.weight", [4, 2]));
    expect(l.boxesFor("other", [3])).toEqual([{ rank: 0, offsets: [0], sizes: [3] }]);
  });
});

describe("layouts (adversarial)", () => {
  test("parseLayoutJson() rejects boxes that leave a gap", () => {
    const l = parseLayoutJson(JSON.stringify({ ranks: 2, tensors: { w: [{ rank: 0, offsets: [0], sizes: [3] }] } }));
    expect(() => l.boxesFor("w", [4])).toThrow(/cover 3 of 4/);
  });

  test("parseLayoutJson() rejects overlapping boxes and ranks beyond the count", () => {
    const overlap = parseLayoutJson(JSON.stringify({
      ranks: 2,
      tensors: { w: [{ rank: 0, offsets: [0], sizes: [3] }, { rank: 1, offsets: [2], sizes: [2] }] },
    }));
    expect(() => overlap.boxesFor("w", [4])).toThrow(/overlap/);
    const far = parseLayoutJson(JSON.stringify({ ranks: 1, tensors: { w: [{ rank: 1, offsets: [0], sizes: [4] }] } }));
    expect(() => far.boxesFor("w", [4])).toThrow(UsageError);
  });

  test("parseLayoutJson() rejects malformed JSON and wrong shapes with E_USAGE", () => {
    for (const text of ["{", JSON.stringify({ ranks: 0, tensors: {} }), JSON.stringify({ ranks: 1, tensors: [] })]) {
      expect(() => parseLayoutJson(text, "l.json")).toThrow(
        expect.objectContaining({ code: "E_USAGE", path: "l.json" }),
      );
    }
  });

  test("checkTiling() reports out-of-bounds chunks and a 0-d tensor with two chunks", () => {
    expect(checkTiling([4], [{ offsets: [2], sizes: [3] }]).map((p) => p.kind)).toContain("out_of_bounds");
    expect(checkTiling([], [{ offsets: [], sizes: [] }, { offsets: [], sizes: [] }]).map((p) => p.kind))
      .toEqual(["overlap"]);
  });
});
