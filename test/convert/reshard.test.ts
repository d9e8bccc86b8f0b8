import * as fs from "node:fs";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dimSplitLayout, parseLayoutJson } from "../../src/dcp/mod.ts";
import { finalize, inspect, planReshard, reshard, verify } from "../../src/jobs/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import type { ConvertReport } from "../../src/jobs/mod.ts";
import type { Layout } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import type { TorchVerdict } from "./fixtures.ts";
import { at, makeTorchDcp, removeDir, tempDir, torchLoadsAll } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;
let ckpt: string;
let expected: string;
let verdicts: TorchVerdict[];
let to3: ConvertReport;

/** A 2x2 grid over every 2-d tensor (4 ranks); other tensors stay whole on rank 0. */
async function gridLayout(src: string): Promise<Layout> {
  const report = await inspect(at(src));
  const tensors: Record<string, unknown[]> = {};
  for (const t of report.tensors) {
    if (t.shape.length !== 2) continue;
    const [r, c] = [Math.ceil(t.shape[0] / 2), Math.ceil(t.shape[1] / 2)];
    tensors[t.name] = [0, 1, 2, 3].map((k) => {
      const [i, j] = [k >> 1, k & 1];
      return {
        rank: k,
        offsets: [i * r, j * c],
        sizes: [Math.min(r, t.shape[0] - i * r), Math.min(c, t.shape[1] - j * c)],
      };
    });
  }
  return parseLayoutJson(JSON.stringify({ ranks: 4, tensors }));
}

beforeAll(async () => {
  dir = tempDir("reshard");
  ({ ckpt, expected } = makeTorchDcp(dir, 4));
  to3 = await reshard(at(ckpt), at(nodePath.join(dir, "to3")), { layout: dimSplitLayout(3), engine });
  await reshard(at(ckpt), at(nodePath.join(dir, "grid")), { layout: await gridLayout(ckpt), engine });
  for (const index of [1, 0]) {
    await reshard(at(ckpt), at(nodePath.join(dir, "parts")), {
      layout: dimSplitLayout(3, 1),
      part: { index, count: 2 },
      engine,
    });
  }
  await finalize(at(nodePath.join(dir, "parts")));
  // Bands of 256 bytes: every chunk record streams as many pieces, several read from two source items.
  await reshard(at(ckpt), at(nodePath.join(dir, "banded")), { layout: dimSplitLayout(3), engine, bandBytes: 256 });
  verdicts = torchLoadsAll([
    ["dtensor", nodePath.join(dir, "to3"), expected, "3", "0"],
    ["dtensor", nodePath.join(dir, "grid"), expected, "2", "1"],
    ["dcp", nodePath.join(dir, "parts"), expected],
    ["dcp", nodePath.join(dir, "banded"), expected],
  ]);
});
afterAll(() => removeDir(dir));

describe("reshard()", () => {
  test("4 -> 3 ranks: torch loads it into DTensors (Shard(0)) in 3 gloo processes with equal values", async () => {
    expect(to3.files).toEqual(["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", ".metadata"]);
    const report = await inspect(at(nodePath.join(dir, "to3")));
    expect(report.tensors.find((t) => t.name === "tok_embeddings.weight")!.chunks).toBe(3);
    expect(verdicts[0]).toMatchObject({ ok: true, errors: [] });
  });

  test("to a 2-d grid layout: torch loads it into DTensors (Shard(1)) in 2 processes with equal values", async () => {
    const report = await inspect(at(nodePath.join(dir, "grid")));
    expect(report.tensors.find((t) => t.name === "output.weight")!.chunks).toBe(4);
    expect(verdicts[1]).toMatchObject({ ok: true, errors: [] });
  });

  test("chunks streamed in bands far smaller than a chunk give the same files: torch loads them, verify finds them sound", async () => {
    expect(verdicts[3]).toMatchObject({ ok: true, errors: [] });
    expect((await verify(at(nodePath.join(dir, "banded")), { deep: true })).ok).toBe(true);
    // .metadata differs by its save id only; the data files must match byte for byte.
    for (const f of to3.files.filter((name) => name.endsWith(".distcp"))) {
      expect(fs.readFileSync(nodePath.join(dir, "banded", f))).toEqual(fs.readFileSync(nodePath.join(dir, "to3", f)));
    }
  });

  test("non-tensor items are copied byte for byte", async () => {
    const a = await openTensorSource(at(ckpt).storage, "");
    const b = await openTensorSource(at(nodePath.join(dir, "to3")).storage, "");
    try {
      const bytesOf = async (s: typeof a, name: string) => {
        const v = s.entries.find((e) => e.name === name);
        if (v?.kind !== "value" || !v.stored) throw new Error(`${name} is not a stored value`);
        return await s.storage.read(v.stored.file, v.stored.offset, v.stored.length);
      };
      for (const name of ["train_state.step", "optimizer.param_groups.output.weight.betas"]) {
        expect(await bytesOf(b, name)).toEqual(await bytesOf(a, name));
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("--part r/w runs plus finalize() give a checkpoint torch loads and verify() finds sound", async () => {
    const out = nodePath.join(dir, "parts");
    expect(fs.readdirSync(out).filter((f) => f.startsWith(".webdcp-part"))).toEqual([]);
    expect(verdicts[2]).toMatchObject({ ok: true, errors: [] });
    expect((await verify(at(out), { deep: true })).ok).toBe(true);
  });

  test("the dry-run plan moves every tensor byte exactly once, from the items that hold it", async () => {
    const source = await openTensorSource(at(ckpt).storage, "");
    try {
      const plan = planReshard(source, dimSplitLayout(3));
      const tensorBytes = source.entries.reduce((s, e) => s + (e.kind === "tensor" ? e.bytes : 0), 0);
      expect(plan.totalBytes).toBe(tensorBytes);
      expect(plan.files.map((f) => f.file)).toEqual(["__0_0.distcp", "__1_0.distcp", "__2_0.distcp"]);
      const emb = plan.moves.filter((m) => m.fqn === "tok_embeddings.weight");
      // 10 rows saved as 3/3/3/1 by 4 ranks, read back as 4/4/2: rank 1's rows 4-7 come from two items.
      expect(emb.filter((m) => m.to.file === "__1_0.distcp").map((m) => m.from.file)).toEqual([
        "__1_0.distcp",
        "__2_0.distcp",
      ]);
      expect(plan.values.map((v) => v.fqn)).toContain("train_state.ntokens_seen");
    } finally {
      await source.close();
    }
  });
});

describe("reshard() (adversarial)", () => {
  test("finalize() refuses while a part is missing and writes nothing", async () => {
    const out = nodePath.join(dir, "half");
    await reshard(at(ckpt), at(out), { layout: dimSplitLayout(2), part: { index: 0, count: 2 }, engine });
    await expect(finalize(at(out))).rejects.toMatchObject({ code: "E_GAP" });
    expect(fs.existsSync(nodePath.join(out, ".metadata"))).toBe(false);
  });

  test("a layout that leaves a gap is refused before anything is written", async () => {
    const layout = parseLayoutJson(JSON.stringify({
      ranks: 2,
      tensors: { "output.weight": [{ rank: 0, offsets: [0, 0], sizes: [3, 6] }] },
    }));
    const out = nodePath.join(dir, "gap");
    await expect(reshard(at(ckpt), at(out), { layout, engine })).rejects.toMatchObject({ code: "E_USAGE" });
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
