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
    await writeDcp(storage, "c", {
      ranks: [[{ fqn: "evil", value: new PyReduce(new PyGlobal("os", "system"), tuple("id")) }]],
    });
    const ckpt = await openDcp(storage, "c");
    await expect(ckpt.readValue("evil")).rejects.toThrowError(code("E_PICKLE_GLOBAL", { path: "c/__0_0.distcp" }));
  });

  it("says E_NOT_FOUND for a folder without .metadata", async () => {
    await expect(openDcp(new MemoryStorage(), "nothing")).rejects.toThrowError(code("E_NOT_FOUND"));
  });
});

describe("openDcp() readers believe .metadata sizes only as far as the items' bytes back them", () => {
  /** `w` re-declared as `size` float32 elements in chunks at `chunks` (1-d), every chunk naming `infoOf(i)`. */
  const redeclare = (size: number, chunks: [number, number][], infoOf: (i: number) => object) => (m: DcpMetadata) => {
    const w = m.stateDictMetadata.get("w") as TensorEntryMeta;
    const original = item(m, "w");
    m.storageData.delete(`w\u0000[0,0]`);
    w.size = [size];
    w.strides = [1];
    w.chunks = chunks.map(([offset, sizes]) => ({ offsets: [offset], sizes: [sizes] }));
    w.chunks.forEach((c, i) => {
      const info = { ...original.info, ...infoOf(i) };
      m.storageData.set(`w\u0000[${c.offsets}]`, { ...original, offsets: c.offsets, index: i, info });
    });
  };
  const itemLength = item(decodeMetadata(METADATA, "m"), "w").info.length;
  const itemOffset = item(decodeMetadata(METADATA, "m"), "w").info.offset;

  it("rejects a 3 MiB chunk whose item holds a few hundred bytes with E_TRUNCATED, in readTensor() and readChunk()", async () => {
    const rows = 3 << 18;
    const ckpt = await openDcp(await checkpoint(redeclare(rows, [[0, rows]], () => ({}))), "ckpt");
    const truncated = code("E_TRUNCATED", { path: "ckpt/__0_0.distcp", offset: itemOffset });
    await expect(ckpt.readTensor("w")).rejects.toThrowError(truncated);
    await expect(ckpt.readTensor("w", { offsets: [8], sizes: [2] })).rejects.toThrowError(truncated);
    await expect(ckpt.readChunk("w", 0)).rejects.toThrowError(truncated);
  });

  it("rejects chunks whose items are one byte range, or overlapping ones, with E_OVERLAP naming .metadata", async () => {
    for (const shift of [0, 1]) {
      // Each chunk fits its item alone; together they need nearly twice the bytes the items span.
      const k = Math.floor((itemLength - shift) / 4);
      const infoOf = (i: number) => ({ offset: itemOffset + i * shift, length: itemLength - shift });
      const ckpt = await openDcp(await checkpoint(redeclare(2 * k, [[0, k], [k, k]], infoOf)), "ckpt");
      await expect(ckpt.readTensor("w")).rejects.toThrowError(code("E_OVERLAP", { path: "ckpt/.metadata" }));
    }
  });

  it("refuses a whole read over 2 GiB with E_USAGE naming the tensor and a box read, and reads a box of it", async () => {
    const storage = await checkpoint((m) => {
      (m.stateDictMetadata.get("w") as TensorEntryMeta).size = [1 << 30, 3]; // 12 GiB; the one chunk is [2, 3]
    });
    const ckpt = await openDcp(storage, "ckpt");
    const err = await ckpt.readTensor("w").catch((e) => e);
    expect(err).toMatchObject({ code: "E_USAGE", path: "ckpt/.metadata" });
    expect(err.message).toMatch(/'w'.*readTensor\('w', box\)/);
    const box = await ckpt.readTensor("w", { offsets: [0, 0], sizes: [2, 3] });
    expect(Array.from(new Float32Array(box.data.slice().buffer))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe("decodeMetadata() on hostile pickles", () => {
  it("rejects a 90-byte pickle of 43 shared nested tuples (2^43 values once copied) with E_METADATA", () => {
    const bytes = [0x80, 0x02, 0x4e]; // PROTO 2, NONE
    for (let i = 0; i < 43; i++) bytes.push(0x32, 0x86); // DUP, TUPLE2
    bytes.push(0x2e); // STOP
    expect(bytes.length).toBe(90);
    expect(() => decodeMetadata(Uint8Array.from(bytes), "ckpt/.metadata")).toThrowError(
      code("E_METADATA", { path: "ckpt/.metadata" }),
    );
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
