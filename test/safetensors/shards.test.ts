import { describe, expect, it } from "vitest";
import {
  openSafetensorsFolder,
  planShards,
  readSafetensorsIndex,
  shardFileName,
  writeSafetensors,
  writeSafetensorsFolder,
  writeSafetensorsIndex,
} from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { expectCode } from "../storage/storage_spec.ts";

const t = (name: string, bytes: number) => ({
  name,
  dtype: "uint8" as const,
  shape: [bytes],
  data: new Uint8Array(bytes).fill(bytes),
});

describe("planShards()", () => {
  it("splits greedily in the given order (HF's [6,6,2,6,2,2] under 10 example)", () => {
    const plan = planShards([t("a", 6), t("b", 6), t("c", 2), t("d", 6), t("e", 2), t("f", 2)], 10);
    expect(plan.shards.map((s) => s.entries.map((e) => e.name))).toEqual([["a"], ["b", "c"], ["d", "e", "f"]]);
    expect(plan.shards.map((s) => s.file)).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
    ]);
    expect(plan.totalSize).toBe(24);
  });

  it("gives a tensor bigger than the limit its own shard, ahead of the shard being filled", () => {
    const plan = planShards([t("a", 2), t("big", 50), t("b", 2)], 10);
    expect(plan.shards.map((s) => s.entries.map((e) => e.name))).toEqual([["big"], ["a", "b"]]);
  });

  it("names a single shard model.safetensors and rejects a non-positive limit", () => {
    expect(planShards([t("a", 1)], 10).shards[0].file).toBe("model.safetensors");
    expect(shardFileName(11, 12)).toBe("model-00012-of-00012.safetensors");
    expect(() => planShards([], 0)).toThrow(/E_USAGE/);
  });
});

describe("safetensors index", () => {
  it("writes transformers' format (sorted, indent 2, ASCII, trailing newline) and reads it back", async () => {
    const s = new MemoryStorage();
    const weightMap = new Map([["z", "model-00002-of-00002.safetensors"], ["é", "model-00001-of-00002.safetensors"]]);
    await writeSafetensorsIndex(s, "m/model.safetensors.index.json", { metadata: { total_size: 12 }, weightMap });
    expect(new TextDecoder().decode(await s.readAll("m/model.safetensors.index.json"))).toBe(
      '{\n  "metadata": {\n    "total_size": 12\n  },\n  "weight_map": {\n' +
        '    "z": "model-00002-of-00002.safetensors",\n    "\\u00e9": "model-00001-of-00002.safetensors"\n  }\n}\n',
    );
    const back = await readSafetensorsIndex(s, "m/model.safetensors.index.json");
    expect(back.metadata).toEqual({ total_size: 12 });
    expect([...back.weightMap]).toEqual([["z", weightMap.get("z")], ["é", weightMap.get("é")]]);
  });

  it("rejects an index that is not JSON or lacks weight_map (E_SAFETENSORS)", async () => {
    const s = new MemoryStorage();
    await s.writeAll("a.json", new TextEncoder().encode("{"));
    await s.writeAll("b.json", new TextEncoder().encode('{"metadata":{}}'));
    await expectCode(readSafetensorsIndex(s, "a.json"), "E_SAFETENSORS", { path: "a.json" });
    await expectCode(readSafetensorsIndex(s, "b.json"), "E_SAFETENSORS", { path: "b.json" });
  });
});

describe("openSafetensorsFolder()", () => {
  it("reads a sharded folder written by writeSafetensorsFolder through its index", async () => {
    const s = new MemoryStorage();
    const { files } = await writeSafetensorsFolder(s, "hf", [t("a", 6), t("b", 6), t("c", 2)], { maxShardBytes: 10 });
    expect(files).toEqual([
      "hf/model-00001-of-00002.safetensors",
      "hf/model-00002-of-00002.safetensors",
      "hf/model.safetensors.index.json",
    ]);
    const folder = await openSafetensorsFolder(s, "hf");
    expect(folder.index?.metadata).toEqual({ total_size: 14 });
    expect(folder.tensors.get("c")!.file).toBe("hf/model-00002-of-00002.safetensors");
    expect([...(await folder.readTensor("b", { offsets: [4], sizes: [2] })).data]).toEqual([6, 6]);
    await folder.close();
  });

  it("without an index, merges every top-level *.safetensors and rejects a name in two files (E_OVERLAP)", async () => {
    const s = new MemoryStorage();
    await writeSafetensorsFolder(s, "d", [t("a", 1)]);
    const extra = await s.create("d/extra.safetensors");
    await writeSafetensors(extra, [t("b", 2)]);
    await extra.close();
    const folder = await openSafetensorsFolder(s, "d");
    expect([...folder.tensors.keys()].sort()).toEqual(["a", "b"]);
    await expectCode(folder.readTensor("zz"), "E_MISSING_KEY");
    await folder.close();
    const dup = await s.create("d/dup.safetensors");
    await writeSafetensors(dup, [t("a", 1)]);
    await dup.close();
    await expectCode(openSafetensorsFolder(s, "d"), "E_OVERLAP");
  });

  it("rejects an index naming a missing file, a tensor absent from its file, or a path outside the folder", async () => {
    const s = new MemoryStorage();
    await writeSafetensorsFolder(s, "d", [t("a", 1)]);
    const index = (map: Record<string, string>) =>
      writeSafetensorsIndex(s, "d/model.safetensors.index.json", {
        metadata: {},
        weightMap: new Map(Object.entries(map)),
      });
    await index({ a: "gone.safetensors" });
    await expectCode(openSafetensorsFolder(s, "d"), "E_NOT_FOUND", { path: "d/gone.safetensors" });
    await index({ x: "model.safetensors" });
    await expectCode(openSafetensorsFolder(s, "d"), "E_MISSING_KEY", { path: "d/model.safetensors.index.json" });
    await index({ a: "../../etc/passwd" });
    await expectCode(openSafetensorsFolder(s, "d"), "E_PATH_ESCAPE");
  });

  it("reports a folder with nothing to read as E_NOT_FOUND", async () => {
    const s = new MemoryStorage();
    await s.writeAll("d/readme.md", new Uint8Array(1));
    await expectCode(openSafetensorsFolder(s, "d"), "E_NOT_FOUND");
    await expectCode(openSafetensorsFolder(s, "missing"), "E_NOT_FOUND");
  });
});
