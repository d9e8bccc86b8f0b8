import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDcp, shardBox } from "../../src/dcp/mod.ts";
import type { DcpCheckpoint, TensorEntryMeta } from "../../src/dcp/mod.ts";
import { PyTuple } from "../../src/pickle/value.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { cut, randomBox, readExpected } from "./expected.ts";
import { hex, python, tempDir } from "./helpers.ts";

describe("openDcp() on a single-process torch 2.15 dcp.save", () => {
  const tmp = tempDir("read-single");
  let ckpt: DcpCheckpoint;
  let expected: Map<string, Tensor>;
  beforeAll(async () => {
    await python(inject("python"), "save_single.py", [tmp.path]);
    expected = readExpected(join(tmp.path, "expected.json"));
    ckpt = await openDcp(new FileStorage(tmp.path), "ckpt");
  });
  afterAll(async () => {
    await ckpt?.close();
    tmp.remove();
  });

  it("reads every tensor (every dtype, 0-d, empty, a transposed chunk) bit for bit", async () => {
    expect(expected.size).toBe(26);
    for (const [fqn, want] of expected) {
      const got = await ckpt.readTensor(fqn);
      expect({ fqn, dtype: got.dtype, shape: got.shape, hex: hex(got.data) })
        .toEqual({ fqn, dtype: want.dtype, shape: want.shape, hex: hex(want.data) });
    }
  });

  it("reads boxes of a non-contiguous stored chunk", async () => {
    const want = expected.get("model.w_t")!;
    for (let seed = 1; seed <= 12; seed++) {
      const box = randomBox(want.shape, seed);
      expect(hex((await ckpt.readTensor("model.w_t", box)).data)).toBe(hex(cut(want, box)));
    }
  });

  it("reads BYTE_IO values: ints, big ints, floats, str, bytes, None, bools, lists, tuples with tensors", async () => {
    expect(await ckpt.readValue("train_state.step")).toBe(42);
    expect(await ckpt.readValue("train_state.ntokens_seen")).toBe(2 ** 40);
    expect(await ckpt.readValue("train_state.name")).toBe("run-ü");
    expect(await ckpt.readValue("train_state.blob")).toEqual(Uint8Array.of(0x80, 0x04, 0x61, 0x62, 0x63));
    expect(await ckpt.readValue("train_state.none")).toBeNull();
    expect(await ckpt.readValue("lr_scheduler.base_lrs")).toEqual([0.1, 0.2]);
    expect(await ckpt.readValue("lr_scheduler.last_epoch")).toBe(-3);
    expect(await ckpt.readValue("optimizer.param_groups.0.lr")).toBe(0.001);
    expect(await ckpt.readValue("optimizer.param_groups.0.betas")).toEqual(new PyTuple([0.9, 0.95]));
    expect(await ckpt.readValue("optimizer.param_groups.0.amsgrad")).toBe(false);
    expect(await ckpt.readValue("optimizer.param_groups.0.params")).toEqual(["model.w_t"]);
    const tup = await ckpt.readValue("tup") as PyTuple;
    expect(tup.items[1]).toBe(1);
    expect(tup.items[0]).toMatchObject({ dtype: "int16", shape: [3], data: Uint8Array.of(0, 0, 1, 0, 2, 0) });
  });

  it("rebuilds the nested state dict from planner_data", async () => {
    const sd = await ckpt.readStateDict();
    const groups = (sd.get("optimizer") as Map<string, unknown>).get("param_groups") as Map<string, unknown>[];
    expect(groups[0].get("lr")).toBe(0.001);
    const state = (sd.get("optimizer") as Map<string, unknown>).get("state") as Map<string, unknown>;
    // the dict key "model.w_t" contains a dot: only planner_data tells it apart from nesting
    expect(hex((state.get("model.w_t") as Map<string, Tensor>).get("exp_avg")!.data))
      .toBe(hex(expected.get("optimizer.state.model.w_t.exp_avg")!.data));
    expect(sd.has("lr_scheduler")).toBe(true);
  });

  it("lists entries and data files", async () => {
    const e = ckpt.entries().find((x) => x.name === "optimizer.param_groups.0.lr")!;
    expect(e).toMatchObject({
      name: "optimizer.param_groups.0.lr",
      kind: "value",
      path: ["optimizer", "param_groups", 0, "lr"],
      stored: { file: "ckpt/__0_0.distcp" },
    });
    const files = await ckpt.files();
    expect(files.map((f) => f.relativePath)).toEqual(["__0_0.distcp"]);
    expect(files[0].size).toBeGreaterThan(10_000);
  });
});

describe.each([
  { world: 2, mesh: "1d" },
  { world: 4, mesh: "2d" },
])("openDcp() on a $world-process gloo save of DTensors ($mesh mesh, uneven shards)", ({ world, mesh }) => {
  const tmp = tempDir(`read-${mesh}`);
  let ckpt: DcpCheckpoint;
  let expected: Map<string, Tensor>;
  beforeAll(async () => {
    await python(inject("python"), "save_sharded.py", [tmp.path, String(world), mesh], 300_000);
    expected = readExpected(join(tmp.path, "expected.json"));
    ckpt = await openDcp(new FileStorage(tmp.path), "ckpt");
  }, 400_000);
  afterAll(async () => {
    await ckpt?.close();
    tmp.remove();
  });

  it("stores the chunks DTensor computes, which shardBox() reproduces", () => {
    const w = ckpt.metadata.stateDictMetadata.get("w") as TensorEntryMeta;
    const ours = mesh === "1d"
      ? [0, 1].map((r) => shardBox([5, 7], 0, 2, r))
      : [0, 1].flatMap((i) =>
        [0, 1].map((j) => {
          const rows = shardBox([5, 7], 0, 2, i);
          const cols = shardBox([5, 7], 1, 2, j);
          return { offsets: [rows.offsets[0], cols.offsets[1]], sizes: [rows.sizes[0], cols.sizes[1]] };
        })
      );
    const key = (b: { offsets: number[] }) => b.offsets.join(",");
    expect([...w.chunks].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(ours);
  });

  it("reads whole tensors and random boxes that match the full tensors", async () => {
    for (const [fqn, want] of expected) {
      expect(hex((await ckpt.readTensor(fqn)).data)).toBe(hex(want.data));
      for (let seed = 1; seed <= 8; seed++) {
        const box = randomBox(want.shape, seed);
        expect(hex((await ckpt.readTensor(fqn, box)).data)).toBe(hex(cut(want, box)));
      }
    }
    expect(await ckpt.readValue("train_state.step")).toBe(11);
    expect(await ckpt.readValue("train_state.lrs")).toEqual([0.5, 0.25]);
  });

  it("reads single chunks at their global position", async () => {
    const w = ckpt.metadata.stateDictMetadata.get("w") as TensorEntryMeta;
    for (const [i, c] of w.chunks.entries()) {
      expect(hex((await ckpt.readChunk("w", i)).data)).toBe(hex(cut(expected.get("w")!, c)));
    }
  });

  it("readTensor() with a destination fills it (whole tensors, boxes across chunks, single chunks) and returns it", async () => {
    for (const [fqn, want] of expected) {
      const boxes = [undefined, ...Array.from({ length: 8 }, (_, i) => randomBox(want.shape, i + 1))];
      const w = ckpt.metadata.stateDictMetadata.get(fqn) as TensorEntryMeta;
      boxes.push(...w.chunks);
      for (const box of boxes) {
        const wantBytes = box === undefined ? want.data : cut(want, box);
        const out = new Uint8Array(wantBytes.byteLength).fill(0xA5);
        const got = await ckpt.readTensor(fqn, box, out);
        expect(got.data).toBe(out);
        expect(hex(out)).toBe(hex(wantBytes));
      }
    }
  });

  it("readTensor() rejects a destination of the wrong size with E_USAGE", async () => {
    const size = expected.get("w")!.data.byteLength;
    for (const wrong of [size - 1, size + 1, 0]) {
      await expect(ckpt.readTensor("w", undefined, new Uint8Array(wrong))).rejects.toMatchObject({ code: "E_USAGE" });
    }
  });
});
