import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  decodeMetadata,
  dedupPlan,
  encodeMetadata,
  openDcp,
  PAGE_BYTES,
  saveStateDict,
  storageKey,
  writeDcp,
} from "../../src/dcp/mod.ts";
import { openTorchArchive } from "../../src/torch/mod.ts";
import type { DcpMetadata, DcpWriteItem, TensorEntryMeta } from "../../src/dcp/mod.ts";
import { memorySource, MemoryStorage } from "../../src/storage/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { PyTuple } from "../../src/pickle/value.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { hex, python, tempDir } from "./helpers.ts";

function tensor(dtype: Tensor["dtype"], shape: number[], itemsize: number, seed: number): Tensor {
  let n = itemsize;
  for (const s of shape) n *= s;
  return { dtype, shape, data: Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) & 0x7f) };
}

function stateDict() {
  return {
    w: tensor("float32", [5, 3], 4, 1),
    emb: tensor("bfloat16", [3, 4], 2, 2),
    counts: tensor("int64", [2, 6], 8, 3),
    optimizer: { state: { w: { exp_avg: tensor("float32", [5, 3], 4, 4), step: tensor("float32", [], 4, 5) } } },
    train_state: { step: 9, lrs: [0.5, 0.25], name: "x" },
  };
}

function specOf(sd: ReturnType<typeof stateDict>) {
  const t = (x: Tensor) => ({ dtype: x.dtype, shape: x.shape, hex: hex(x.data) });
  return {
    tensors: {
      w: t(sd.w),
      emb: t(sd.emb),
      counts: t(sd.counts),
      "optimizer.state.w.exp_avg": t(sd.optimizer.state.w.exp_avg),
      "optimizer.state.w.step": t(sd.optimizer.state.w.step),
    },
    values: { "train_state.step": 9, "train_state.lrs": [0.5, 0.25], "train_state.name": "x" },
  };
}

describe("saveStateDict(..., { ranks: 4 })", () => {
  const tmp = tempDir("write");
  const sd = stateDict();
  let meta: DcpMetadata;
  beforeAll(async () => {
    meta = await saveStateDict(new FileStorage(tmp.path), "ckpt", sd, { ranks: 4 });
    writeFileSync(join(tmp.path, "spec.json"), JSON.stringify(specOf(sd)));
  });
  afterAll(() => tmp.remove());

  it("splits like DTensor Shard(0): ceil-div rows, trailing ranks empty, 0-d tensors and values kept once", () => {
    const w = meta.stateDictMetadata.get("w") as TensorEntryMeta;
    expect(w.chunks).toEqual([
      { offsets: [0, 0], sizes: [2, 3] },
      { offsets: [2, 0], sizes: [2, 3] },
      { offsets: [4, 0], sizes: [1, 3] },
      { offsets: [5, 0], sizes: [0, 3] },
    ]);
    const items = [...meta.storageData.values()];
    expect(items.filter((s) => s.fqn === "optimizer.state.w.step")).toHaveLength(1);
    expect(items.filter((s) => s.fqn === "train_state.step")).toHaveLength(1);
    expect(meta.version).toBe("1.0.0");
    expect(meta.plannerData?.get("optimizer.state.w.exp_avg")).toEqual(["optimizer", "state", "w", "exp_avg"]);
  });

  it("reads back bit for bit through openDcp()", async () => {
    const ckpt = await openDcp(new FileStorage(tmp.path), "ckpt");
    try {
      expect((await ckpt.files()).map((f) => f.relativePath).sort()).toEqual(
        ["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", "__3_0.distcp"],
      );
      expect(hex((await ckpt.readTensor("emb")).data)).toBe(hex(sd.emb.data));
      expect(hex((await ckpt.readTensor("w", { offsets: [1, 1], sizes: [3, 2] })).data)).toHaveLength(3 * 2 * 4 * 2);
      expect(await ckpt.readValue("train_state.lrs")).toEqual([0.5, 0.25]);
    } finally {
      await ckpt.close();
    }
  });

  it("is loaded by torch dcp.load in one process into plain tensors", async () => {
    const out = await python(inject("python"), "load_ours.py", [
      join(tmp.path, "ckpt"),
      join(tmp.path, "spec.json"),
      "1",
    ]);
    expect(out.trim()).toBe("OK");
  });

  it("is loaded by torch dcp.load in 3 gloo processes into DTensors sharded along another dimension", async () => {
    const out = await python(
      inject("python"),
      "load_ours.py",
      [join(tmp.path, "ckpt"), join(tmp.path, "spec.json"), "3"],
      300_000,
    );
    expect(out.trim()).toBe("OK");
  }, 320_000);
});

describe("writeDcp() planning", () => {
  it("dedups a replicated item onto the rank with the fewest planned bytes, like torch's dedup_save_plans", () => {
    const chunk = (offsets: number[], sizes: number[]): DcpWriteItem => ({
      fqn: "w",
      dtype: "float32",
      globalShape: [5, 7],
      offsets,
      sizes,
      data: new Uint8Array(sizes[0] * sizes[1] * 4),
    });
    const step = { fqn: "step", value: 3 };
    const ranks = dedupPlan([[chunk([0, 0], [3, 7]), step], [chunk([3, 0], [2, 7]), step]]);
    expect(ranks[0].map((i) => i.fqn)).toEqual(["w"]);
    expect(ranks[1].map((i) => i.fqn)).toEqual(["w", "step"]);
  });

  it("gives a rank with nothing left after dedup a 0-byte file, and saves tuples as one BYTE_IO value", async () => {
    const storage = new MemoryStorage();
    await saveStateDict(storage, "c", { s: 1, t: new PyTuple([1, 2]) }, { ranks: 3 });
    const sizes = await Promise.all([0, 1, 2].map((r) => storage.stat(`c/__${r}_0.distcp`)));
    expect(sizes.map((s) => s?.size === 0)).toEqual([false, false, true]);
    const ckpt = await openDcp(storage, "c");
    expect(await ckpt.readValue("t")).toEqual(new PyTuple([1, 2]));
  });

  it("pads before a chunk that asks for a page offset so its tensor data starts there; readers never notice", async () => {
    const values = Uint8Array.from({ length: 3 * 7 * 4 }, (_, i) => i & 0xff);
    const chunk = (offsets: number[], data: Uint8Array, pageOffset?: number): DcpWriteItem => ({
      fqn: "w",
      dtype: "float32",
      globalShape: [6, 7],
      offsets,
      sizes: [3, 7],
      data,
      pageOffset: pageOffset === undefined ? undefined : () => Promise.resolve(pageOffset),
    });
    const storage = new MemoryStorage();
    const meta = await writeDcp(storage, "c", {
      ranks: [[{ fqn: "v", value: "x" }, chunk([0, 0], values, 1000), chunk([3, 0], values.map((b) => 255 - b), 64)]],
    });
    const file = await storage.readAll("c/__0_0.distcp");
    for (const [offsets, page] of [[[0, 0], 1000], [[3, 0], 64]] as const) {
      const info = meta.storageData.get(storageKey("w", [...offsets]))!.info;
      const archive = await openTorchArchive(
        memorySource(file.subarray(info.offset, info.offset + info.length), "item"),
      );
      const data = archive.records.get("archive/data/0")!;
      expect((info.offset + data.dataOffset) % PAGE_BYTES).toBe(page);
    }
    const ckpt = await openDcp(storage, "c");
    const w = await ckpt.readTensor("w");
    expect(w.data).toEqual(new Uint8Array([...values, ...values.map((b) => 255 - b)]));
  });

  it("copies a raw BYTE_IO item verbatim and reports progress per item", async () => {
    const dir = join("test", "dcp", "data", "tiny");
    const meta = decodeMetadata(readFileSync(join(dir, ".metadata")), ".metadata");
    const step = [...meta.storageData.values()].find((s) => s.fqn === "step")!.info;
    const raw = readFileSync(join(dir, "__0_0.distcp")).subarray(step.offset, step.offset + step.length);
    const storage = new MemoryStorage();
    const progress: string[] = [];
    await writeDcp(storage, "c", { ranks: [[{ fqn: "copied", raw }, { fqn: "v", value: "x" }]] }, {
      onProgress: (p) => progress.push(`${p.fqn} ${p.itemsDone}/${p.itemsTotal}`),
    });
    expect(progress).toEqual(["copied 1/2", "v 2/2"]);
    const ckpt = await openDcp(storage, "c");
    expect(await ckpt.readValue("copied")).toBe(3);
    expect((await storage.readAll("c/__0_0.distcp")).subarray(0, raw.length)).toEqual(new Uint8Array(raw));
  });

  it("merges rank-local __<r>.metadata files when there is no .metadata", async () => {
    const storage = new MemoryStorage();
    const meta = await saveStateDict(storage, "c", { w: tensor("int16", [4, 2], 2, 9), n: 5 }, { ranks: 2 });
    for (const r of [0, 1]) {
      const file = `__${r}_0.distcp`;
      const own = [...meta.storageData].filter(([, s]) => s.info.relativePath === file);
      const fqns = new Set(own.map(([, s]) => s.fqn));
      const local: DcpMetadata = {
        ...meta,
        storageData: new Map(own),
        stateDictMetadata: new Map(
          [...meta.stateDictMetadata].filter(([k]) => fqns.has(k)).map(([k, e]) => [
            k,
            e.kind === "tensor"
              ? {
                ...e,
                chunks: e.chunks.filter((c) => own.some(([, s]) => s.fqn === k && s.offsets?.[0] === c.offsets[0])),
              }
              : e,
          ]),
        ),
      };
      await storage.writeAll(`c/__${r}.metadata`, encodeMetadata(local));
    }
    await storage.remove("c/.metadata");
    const ckpt = await openDcp(storage, "c");
    expect((ckpt.metadata.stateDictMetadata.get("w") as TensorEntryMeta).chunks).toHaveLength(2);
    expect(await ckpt.readTensor("w")).toEqual(tensor("int16", [4, 2], 2, 9));
    expect(await ckpt.readValue("n")).toBe(5);
  });
});

describe("saveStateDict(..., { concurrency })", () => {
  it("writes the same data files and metadata whether ranks are written one or three at a time", async () => {
    const one = new MemoryStorage(), three = new MemoryStorage();
    const metaOne = await saveStateDict(one, "c", stateDict(), { ranks: 4 });
    const metaThree = await saveStateDict(three, "c", stateDict(), { ranks: 4, concurrency: 3 });
    for (let r = 0; r < 4; r++) {
      expect(await three.readAll(`c/__${r}_0.distcp`)).toEqual(await one.readAll(`c/__${r}_0.distcp`));
    }
    expect([...metaThree.storageData.entries()]).toEqual([...metaOne.storageData.entries()]);
  });

  it("leaves no .metadata and no rank file when one rank fails while others are being written", async () => {
    const storage = new MemoryStorage();
    const chunk = (rank: number, fail: boolean): DcpWriteItem => ({
      fqn: "w",
      dtype: "float32",
      globalShape: [3],
      offsets: [rank],
      sizes: [1],
      data: async () => {
        await new Promise((r) => setTimeout(r, rank * 5));
        if (fail) throw new Error("disk on fire");
        return new Uint8Array(4);
      },
    });
    await expect(writeDcp(storage, "f", { ranks: [[chunk(0, false)], [chunk(1, true)], [chunk(2, false)]] }, {
      concurrency: 3,
    })).rejects.toThrow("disk on fire");
    expect(await storage.list("f") ?? []).toEqual([]);
  });
});
