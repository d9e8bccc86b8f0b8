import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert, diff, inspect } from "../../src/jobs/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import type { ConvertReport } from "../../src/jobs/mod.ts";
import type { JobProgress } from "../../src/tasks/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import type { TorchVerdict } from "./fixtures.ts";
import { at, makeTorchDcp, removeDir, tempDir, torchLoadsAll } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;
let ckpt: string;
let expected: string;
const reports: Record<string, ConvertReport> = {};
const warnings: Record<string, string[]> = {};
const progress: JobProgress[] = [];
let verdicts: Record<string, TorchVerdict>;

/** Converts once per target, then lets real torch load every output in one interpreter. */
beforeAll(async () => {
  dir = tempDir("convert");
  ({ ckpt, expected } = makeTorchDcp(dir, 2));
  const job = async (name: string, dst: ReturnType<typeof at>, opts: Parameters<typeof convert>[2]) => {
    warnings[name] = [];
    reports[name] = await convert(at(ckpt), dst, { engine, onWarning: (w) => warnings[name].push(w), ...opts });
  };
  await job("st", at(dir, "all.safetensors"), { to: "safetensors" });
  await job("pt", at(dir, "all.pt"), { to: "torch", onProgress: (p) => progress.push(p) });
  await job("dcp3", at(nodePath.join(dir, "dcp3")), { to: "dcp", layout: dimSplitLayout(3) });
  await job("model", at(nodePath.join(dir, "model_only")), { to: "safetensors", modelOnly: true });
  await job("sharded", at(nodePath.join(dir, "sharded")), { to: "safetensors", maxShardSize: 300 });
  reports.rt = await convert(at(dir, "all.safetensors"), at(nodePath.join(dir, "rt_st")), {
    to: "dcp",
    layout: dimSplitLayout(2),
    engine,
  });
  const checks: Record<string, string[]> = {
    st: ["safetensors", nodePath.join(dir, "all.safetensors"), expected],
    pt: ["torch", nodePath.join(dir, "all.pt"), expected],
    dcp3: ["dcp", nodePath.join(dir, "dcp3"), expected],
    model: ["safetensors", nodePath.join(dir, "model_only"), expected, "--model-only"],
    sharded: ["safetensors", nodePath.join(dir, "sharded"), expected],
    rt: ["dcp", nodePath.join(dir, "rt_st"), expected, "--tensors-only"],
  };
  const results = torchLoadsAll(Object.values(checks));
  verdicts = Object.fromEntries(Object.keys(checks).map((k, i) => [k, results[i]]));
});
afterAll(() => removeDir(dir));

describe("convert() from a 2-rank DCP written by torch", () => {
  test("inspect() reads the layout torch wrote: chunks per tensor, values, files per rank", async () => {
    const report = await inspect(at(ckpt));
    expect(report.format).toBe("dcp");
    const wq = report.tensors.find((t) => t.name === "layers.0.attention.wq.weight")!;
    expect(wq).toMatchObject({ dtype: "float32", shape: [8, 6], chunks: 2, bytes: 192 });
    expect(report.tensors.find((t) => t.name === "optimizer.state.output.weight.step")).toMatchObject({
      shape: [],
      chunks: 1,
    });
    expect(report.values.map((v) => v.name)).toContain("train_state.step");
    expect(report.ranks.map((r) => r.rank)).toEqual([0, 1]);
    expect(report.totals.tensors).toBe(7);
  });

  test("-> one .safetensors file loads in safetensors.torch.load_file with equal tensors; values are warned about", () => {
    expect(reports.st.files).toEqual(["all.safetensors"]);
    expect(warnings.st).toHaveLength(1);
    expect(warnings.st[0]).toMatch(/6 non-tensor entries are not written.*train_state\.step/);
    expect(verdicts.st).toMatchObject({ ok: true, errors: [] });
  });

  test("-> .pt loads with torch.load(weights_only=True) as the original nested state dict", () => {
    expect(verdicts.pt).toMatchObject({ ok: true, errors: [] });
    expect(verdicts.pt.keys).toContain("lr_scheduler");
    const last = progress[progress.length - 1];
    expect([last.bytesDone, last.bytesTotal]).toEqual([880, 880]);
  });

  test("-> DCP with 3 ranks loads with dcp.load, values included", () => {
    expect(reports.dcp3.files).toEqual(["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", ".metadata"]);
    expect(verdicts.dcp3).toMatchObject({ ok: true, errors: [] });
  });

  test("--model-only keeps only model tensors, so nothing is warned about", () => {
    expect(warnings.model).toEqual([]);
    expect(reports.model.dropped).toContain("optimizer.state.output.weight.exp_avg");
    expect(verdicts.model).toMatchObject({ ok: true, errors: [] });
  });

  test("--max-shard-size splits safetensors into HF-named shards with an index naming every tensor", async () => {
    expect(reports.sharded.files).toContain("model.safetensors.index.json");
    expect(reports.sharded.files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(
      1,
    );
    const source = await openTensorSource(at(nodePath.join(dir, "sharded")).storage, "");
    try {
      expect(source.format).toBe("hf");
      expect(source.entries).toHaveLength(7);
    } finally {
      await source.close();
    }
    expect(verdicts.sharded).toMatchObject({ ok: true, errors: [] });
  });

  test("safetensors -> DCP (flat keys) loads with dcp.load", () => {
    expect(verdicts.rt).toMatchObject({ ok: true, errors: [] });
  });

  test("round trips DCP -> safetensors -> DCP and DCP -> .pt -> DCP are bit-exact", async () => {
    const a = await diff(at(ckpt), at(nodePath.join(dir, "rt_st")), { engine });
    expect(a.tensors).toHaveLength(7);
    expect(a.tensors.every((t) => t.equalBits)).toBe(true);
    expect(a.onlyInB).toEqual([]);
    const viaPt = nodePath.join(dir, "rt_pt");
    await convert(at(dir, "all.pt"), at(viaPt), { to: "dcp", engine });
    const b = await diff(at(ckpt), at(viaPt), { engine });
    expect(b.identical).toBe(true);
    expect(b.values).toHaveLength(6);
  });

  test("--include and --exclude globs select keys, and a plain group name selects the group", async () => {
    await convert(at(ckpt), at(dir, "picked.safetensors"), {
      to: "safetensors",
      include: ["layers.*.attention.*.weight", "optimizer"],
      exclude: ["optimizer.state.*.weight.step"],
      engine,
    });
    const source = await openTensorSource(at(dir).storage, "picked.safetensors");
    try {
      expect(source.entries.map((e) => e.name).sort()).toEqual([
        "layers.0.attention.wq.weight",
        "optimizer.state.output.weight.exp_avg",
      ]);
    } finally {
      await source.close();
    }
  });
});
