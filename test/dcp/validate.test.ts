import { describe, expect, it } from "vitest";
import { checkLayout, checkTensorChunks, itemFile, itemRanges } from "../../src/dcp/validate.ts";
import { decodeMetadata, saveStateDict } from "../../src/dcp/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import type { DcpMetadata, TensorEntryMeta } from "../../src/dcp/metadata.ts";
import { storageKey } from "../../src/dcp/metadata.ts";

function tensor(size: number[], chunks: [number[], number[]][]): TensorEntryMeta {
  return {
    kind: "tensor",
    dtype: "float32",
    size,
    chunks: chunks.map(([offsets, sizes]) => ({ offsets, sizes })),
    requiresGrad: false,
    pinMemory: false,
    memoryFormat: "contiguous",
    strides: null,
  };
}

describe("checkTensorChunks()", () => {
  it("accepts an uneven tiling with a zero-size trailing chunk and 0-d tensors", () => {
    checkTensorChunks("w", tensor([5, 2], [[[0, 0], [2, 2]], [[2, 0], [2, 2]], [[4, 0], [1, 2]], [[5, 0], [0, 2]]]));
    checkTensorChunks("s", tensor([], [[[], []]]));
    checkTensorChunks("w", tensor([4, 4], [[[0, 0], [2, 4]]]), { requireTiling: true }); // one chunk: partial is allowed
  });

  it("rejects overlapping chunks with E_OVERLAP", () => {
    const e = tensor([4, 4], [[[0, 0], [2, 4]], [[1, 2], [3, 2]], [[2, 0], [2, 2]]]);
    expect(() => checkTensorChunks("w", e, { path: "m" })).toThrowError(
      expect.objectContaining({ code: "E_OVERLAP", path: "m" }),
    );
  });

  it("rejects a gap between several chunks with E_GAP", () => {
    expect(() => checkTensorChunks("w", tensor([4, 4], [[[0, 0], [2, 4]], [[3, 0], [1, 4]]]))).toThrowError(
      expect.objectContaining({ code: "E_GAP" }),
    );
  });

  it("rejects a chunk outside the tensor or of the wrong rank", () => {
    expect(() => checkTensorChunks("w", tensor([4], [[[3], [2]]]))).toThrowError(
      expect.objectContaining({ code: "E_OUT_OF_RANGE" }),
    );
    expect(() => checkTensorChunks("w", tensor([4], [[[0, 0], [4, 1]]]))).toThrowError(
      expect.objectContaining({ code: "E_SHAPE" }),
    );
  });
});

describe("itemFile()", () => {
  it("normalises a relative path and refuses ../x and /abs with E_PATH_ESCAPE", () => {
    expect(itemFile("./__0_0.distcp")).toBe("__0_0.distcp");
    expect(() => itemFile("../x", "m")).toThrowError(expect.objectContaining({ code: "E_PATH_ESCAPE", path: "m" }));
    expect(() => itemFile("/etc/passwd")).toThrowError(expect.objectContaining({ code: "E_PATH_ESCAPE" }));
  });
});

describe("checkLayout()", () => {
  it("requires a storage item for every chunk", () => {
    const meta: DcpMetadata = {
      stateDictMetadata: new Map([["w", tensor([2], [[[0], [2]]])]]),
      plannerData: null,
      storageData: new Map([[storageKey("w", [1]), {
        fqn: "w",
        offsets: [1],
        index: 0,
        info: { relativePath: "__0_0.distcp", offset: 0, length: 1 },
      }]]),
      storageMeta: null,
      version: null,
    };
    expect(() => checkLayout(meta)).toThrowError(expect.objectContaining({ code: "E_METADATA" }));
  });
});

describe("itemRanges()", () => {
  /** An 8-rank checkpoint in memory whose stat() answers after a few milliseconds, counting those at once. */
  async function slowCheckpoint() {
    const storage = new MemoryStorage();
    const t = makeTensor("float32", [16, 4]);
    await saveStateDict(storage, "ckpt", { w: t, b: makeTensor("float32", [8]) }, { ranks: 8 });
    const meta = decodeMetadata(await storage.readAll("ckpt/.metadata"), "ckpt/.metadata");
    let now = 0;
    let most = 0;
    const stat = storage.stat.bind(storage);
    storage.stat = async (path: string) => {
      most = Math.max(most, ++now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
      return await stat(path);
    };
    return { storage, meta, most: () => most };
  }

  it("stats the data files at once, not one after another (each stat of a remote storage is a round trip)", async () => {
    const { storage, meta, most } = await slowCheckpoint();
    const found = await itemRanges(storage, "ckpt", meta);
    expect(found.problems).toEqual([]);
    expect(found.sizes.size).toBe(8);
    expect(found.usable.size).toBe(meta.storageData.size);
    expect(most()).toBe(8);
  });

  it("reports a missing data file once, at its first item, and keeps the other files' items", async () => {
    const { storage, meta } = await slowCheckpoint();
    await storage.remove("ckpt/__3_0.distcp");
    const found = await itemRanges(storage, "ckpt", meta);
    expect(found.problems).toHaveLength(1);
    expect(found.errors[0]).toMatchObject({ code: "E_NOT_FOUND", path: "ckpt/__3_0.distcp" });
    const onRank3 = [...meta.storageData.values()].filter((i) => i.info.relativePath === "__3_0.distcp").length;
    expect(found.usable.size).toBe(meta.storageData.size - onRank3);
  });
});
