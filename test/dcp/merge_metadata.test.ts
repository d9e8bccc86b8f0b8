import { describe, expect, it } from "vitest";
import { type DcpMetadata, mergeMetadata, type TensorEntryMeta } from "../../src/dcp/mod.ts";
import { guarded } from "../fuzz/guard.ts";

/** Rank-local metadata holding chunk `rank` of a `[ranks]` float32 tensor `w`. */
function rankLocal(rank: number, ranks: number): DcpMetadata {
  const w: TensorEntryMeta = {
    kind: "tensor",
    dtype: "float32",
    size: [ranks],
    chunks: [{ offsets: [rank], sizes: [1] }],
    requiresGrad: false,
    pinMemory: false,
    memoryFormat: "contiguous",
    strides: null,
  };
  return {
    stateDictMetadata: new Map([["w", w]]),
    plannerData: null,
    storageData: new Map(),
    storageMeta: null,
    version: null,
  };
}

describe("mergeMetadata()", () => {
  it("merges 20k rank-local files of one tensor in linear time, keeping one copy of a repeated chunk", async () => {
    const parts = Array.from({ length: 20_000 }, (_, r) => rankLocal(r, 20_000));
    // Rebuilding the known chunks per file took over 20k^2/2 steps; a generous budget for a loaded machine.
    const out = await guarded(0, () => mergeMetadata([...parts, rankLocal(7, 20_000)], "m"), 10_000);
    if (!out.ok) throw out.error;
    const w = out.value.stateDictMetadata.get("w") as TensorEntryMeta;
    expect(w.chunks.length).toBe(20_000);
    expect(w.chunks.map((c) => c.offsets[0])).toEqual(parts.map((_, r) => r));
  });
});
