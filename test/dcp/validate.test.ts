import { describe, expect, it } from "vitest";
import { checkLayout, checkTensorChunks, itemFile } from "../../src/dcp/validate.ts";
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
