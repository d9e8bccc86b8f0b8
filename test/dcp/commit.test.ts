import { describe, expect, test } from "vitest";
import { commitDcp, decodeMetadata, type TensorEntryMeta } from "../../src/dcp/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";

const tensor = (size: number[], chunks: [number[], number[]][]): TensorEntryMeta => ({
  kind: "tensor",
  dtype: "float32",
  size,
  chunks: chunks.map(([offsets, sizes]) => ({ offsets, sizes })),
  requiresGrad: false,
  pinMemory: false,
  memoryFormat: "contiguous",
  strides: null,
});
const entry = (fqn: string, offsets: number[], file: string) => ({
  fqn,
  offsets,
  index: null,
  info: { relativePath: file, offset: 0, length: 8 },
});

describe("commitDcp()", () => {
  test("writes .metadata from the written entries, stamped with the version and a save id, and no temp file", async () => {
    const storage = new MemoryStorage();
    const { path, metadata } = await commitDcp(storage, "ckpt", {
      stateDictMetadata: new Map([["w", tensor([4], [[[0], [2]], [[2], [2]]])]]),
      plannerData: null,
      storageData: [entry("w", [0], "__0_0.distcp"), entry("w", [2], "__1_0.distcp")],
    });
    expect(path).toBe("ckpt/.metadata");
    expect(metadata.version).toBe("1.0.0");
    expect(metadata.storageMeta?.saveId).toMatch(/^[0-9a-f-]{36}$/);
    const back = decodeMetadata(await storage.readAll(path), path);
    expect([...back.storageData.values()].map((e) => e.info.relativePath)).toEqual(["__0_0.distcp", "__1_0.distcp"]);
    expect((await storage.list("ckpt"))?.map((e) => e.name)).toEqual([".metadata"]);
  });

  test("refuses chunks that leave a gap with E_GAP and writes no .metadata", async () => {
    const storage = new MemoryStorage();
    const save = {
      stateDictMetadata: new Map([["w", tensor([4], [[[0], [1]], [[2], [2]]])]]),
      plannerData: null,
      storageData: [entry("w", [0], "__0_0.distcp"), entry("w", [2], "__0_0.distcp")],
    };
    await expect(commitDcp(storage, "ckpt", save)).rejects.toMatchObject({ code: "E_GAP", path: "ckpt/.metadata" });
    expect(await storage.stat("ckpt/.metadata")).toBeUndefined();
  });

  test("a part's manifest is written under its own name without the layout check (it holds only its ranks)", async () => {
    const storage = new MemoryStorage();
    const { path } = await commitDcp(storage, "out", {
      stateDictMetadata: new Map([["w", tensor([4], [[[0], [2]], [[2], [2]]])]]),
      plannerData: null,
      storageData: [entry("w", [0], "__0_0.distcp")],
    }, { partFile: ".webdcp-part-0-of-2.metadata" });
    expect(path).toBe("out/.webdcp-part-0-of-2.metadata");
    expect(await storage.stat("out/.metadata")).toBeUndefined();
  });
});
