import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { decodeMetadata, encodeMetadata, openDcp, saveStateDict, writeDcp } from "../../src/dcp/mod.ts";
import type { DcpMetadata, TensorEntryMeta } from "../../src/dcp/mod.ts";
import { PyGlobal, PyReduce, tuple } from "../../src/pickle/value.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";

// A real torch 2.15 save of {"w": arange(6.).reshape(2, 3), "step": 3}.
const DATA = join("test", "dcp", "data", "tiny");
const METADATA = readFileSync(join(DATA, ".metadata"));
const DISTCP = readFileSync(join(DATA, "__0_0.distcp"));

async function checkpoint(edit: (m: DcpMetadata) => void, distcp: Uint8Array = DISTCP): Promise<MemoryStorage> {
  const meta = decodeMetadata(METADATA, ".metadata");
  edit(meta);
  const storage = new MemoryStorage();
  await storage.writeAll("ckpt/.metadata", encodeMetadata(meta));
  await storage.writeAll("ckpt/__0_0.distcp", distcp);
  return storage;
}

const item = (m: DcpMetadata, fqn: string) => [...m.storageData.values()].find((s) => s.fqn === fqn)!;
const code = (c: string, extra: Record<string, unknown> = {}) => expect.objectContaining({ code: c, ...extra });

describe("openDcp() rejects hostile checkpoints", () => {
  it("reads the untouched fixture (the baseline the other cases edit)", async () => {
    const ckpt = await openDcp(await checkpoint(() => {}), "ckpt");
    expect((await ckpt.readTensor("w")).shape).toEqual([2, 3]);
    expect(await ckpt.readValue("step")).toBe(3);
  });

  it("rejects relative_path '../x' and '/abs' with E_PATH_ESCAPE", async () => {
    for (const p of ["../x", "/etc/passwd"]) {
      const storage = await checkpoint((m) => item(m, "w").info.relativePath = p);
      await expect(openDcp(storage, "ckpt")).rejects.toThrowError(code("E_PATH_ESCAPE", { path: "ckpt/.metadata" }));
    }
  });

  it("rejects an item offset past the end of the .distcp with E_OUT_OF_RANGE naming file and offset", async () => {
    const storage = await checkpoint((m) => item(m, "w").info.offset = DISTCP.length - 10);
    await expect(openDcp(storage, "ckpt")).rejects.toThrowError(
      code("E_OUT_OF_RANGE", { path: "ckpt/__0_0.distcp", offset: DISTCP.length - 10 }),
    );
  });

  it("rejects overlapping chunks with E_OVERLAP and a gap with E_GAP", async () => {
    const split = (second: number[]) => (m: DcpMetadata) => {
      const w = m.stateDictMetadata.get("w") as TensorEntryMeta;
      w.chunks = [{ offsets: [0, 0], sizes: [1, 3] }, { offsets: second, sizes: [1, 3] }];
      const s = item(m, "w");
      m.storageData.set(`w\u0000[${second}]`, { ...s, offsets: second, index: 1 });
    };
    await expect(openDcp(await checkpoint(split([0, 0])), "ckpt")).rejects.toThrowError(code("E_OVERLAP"));
    const gap = (m: DcpMetadata) => {
      split([1, 0])(m);
      (m.stateDictMetadata.get("w") as TensorEntryMeta).size = [3, 3];
    };
    await expect(openDcp(await checkpoint(gap), "ckpt")).rejects.toThrowError(code("E_GAP"));
  });

  it("reports a truncated item with the .distcp path and an offset", async () => {
    const storage = await checkpoint((m) => item(m, "w").info.length -= 40);
    const ckpt = await openDcp(storage, "ckpt");
    const err = await ckpt.readTensor("w").catch((e) => e);
    expect(err).toMatchObject({ path: "ckpt/__0_0.distcp" });
    expect(err.offset).toBeGreaterThanOrEqual(item(decodeMetadata(METADATA, "m"), "w").info.offset);
  });

  it("refuses items with stream transforms with E_UNSUPPORTED", async () => {
    const storage = await checkpoint((m) => item(m, "step").info.transformDescriptors = ["stream.zstd/1"]);
    const ckpt = await openDcp(storage, "ckpt");
    await expect(ckpt.readValue("step")).rejects.toThrowError(code("E_UNSUPPORTED"));
  });

  it("rejects a BYTE_IO value whose pickle names os.system", async () => {
    const storage = new MemoryStorage();
    await writeDcp(storage, "c", { ranks: [[{ fqn: "evil", value: new PyReduce(new PyGlobal("os", "system"), tuple("id")) }]] });
    const ckpt = await openDcp(storage, "c");
    await expect(ckpt.readValue("evil")).rejects.toThrowError(code("E_PICKLE_GLOBAL", { path: "c/__0_0.distcp" }));
  });

  it("says E_NOT_FOUND for a folder without .metadata", async () => {
    await expect(openDcp(new MemoryStorage(), "nothing")).rejects.toThrowError(code("E_NOT_FOUND"));
  });
});

describe("writeDcp() failures", () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
  });
  const chunk = (offsets: number[], sizes: number[], data?: () => Promise<Uint8Array>) => ({
    fqn: "w",
    dtype: "uint8" as const,
    globalShape: [4],
    offsets,
    sizes,
    data: data ?? new Uint8Array(sizes[0]),
  });

  it("leaves no .metadata and no data files when a data provider fails mid-save", async () => {
    const failing = () => Promise.reject(new Error("disk on fire"));
    await expect(writeDcp(storage, "c", { ranks: [[chunk([0], [2])], [chunk([2], [2], failing)]] }))
      .rejects.toThrow("disk on fire");
    expect(await storage.list("c") ?? []).toEqual([]);
  });

  it("rejects overlapping or gapped chunks across ranks before writing anything", async () => {
    await expect(writeDcp(storage, "c", { ranks: [[chunk([0], [3])], [chunk([2], [2])]] }))
      .rejects.toThrowError(code("E_OVERLAP"));
    await expect(writeDcp(storage, "c", { ranks: [[chunk([0], [1])], [chunk([2], [2])]] }))
      .rejects.toThrowError(code("E_GAP"));
    expect(await storage.list("c") ?? []).toEqual([]);
  });

  it("rejects chunk data of the wrong length with E_USAGE and an existing checkpoint when overwrite is false", async () => {
    await expect(writeDcp(storage, "c", { ranks: [[chunk([0], [4], () => Promise.resolve(new Uint8Array(3)))]] }))
      .rejects.toThrowError(code("E_USAGE"));
    expect(await storage.stat("c/.metadata")).toBeUndefined();
    await saveStateDict(storage, "c", { a: 1 });
    await expect(saveStateDict(storage, "c", { a: 2 }, { overwrite: false })).rejects.toThrowError(code("E_EXISTS"));
  });
});
