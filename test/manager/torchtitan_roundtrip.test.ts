/**
 * The manager against the pinned torchtitan (0.3.0), CPU, one gloo process: TorchTitan's own Trainer and
 * CheckpointManager write and read the checkpoints on one side, ours on the other.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LLAMA3_FLAVORS, LLAMA3_KEY_GENERATIONS, llama3Parameters } from "../../src/adapters/mod.ts";
import { openDcp } from "../../src/dcp/mod.ts";
import type { DcpCheckpoint } from "../../src/dcp/mod.ts";
import { CheckpointManager, createSeedCheckpoint, type ManagerStates } from "../../src/manager/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { Holder } from "./states_fixture.ts";

function py(...args: string[]): void {
  try {
    execFileSync(inject("python"), ["test/manager/py/titan_train.py", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 600_000,
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = String((e as { stderr?: string }).stderr ?? "");
    throw new Error(`titan_train.py ${args[0]} failed: ${err.slice(-3000)}`);
  }
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

/**
 * TypeScript states shaped like TorchTitan's llama3 trainer: the model's keys come from the llama3 parameter
 * list (not from the checkpoint); the other states hold whatever keys their checkpoint prefix has.
 */
async function titanShapedStates(ckpt: DcpCheckpoint): Promise<{ states: ManagerStates; model: Holder }> {
  const params = llama3Parameters(LLAMA3_FLAVORS.debugmodel, LLAMA3_KEY_GENERATIONS.head);
  const model = new Holder(
    Object.fromEntries(
      params.map((p) => [p.titan, {
        dtype: "float32",
        shape: p.shape,
        data: new Uint8Array(p.shape.reduce((a, b) => a * b, 4)),
      }]),
    ),
  );
  const prefixed = (name: string) => {
    const sd: Record<string, unknown> = {};
    for (const e of ckpt.entries()) {
      if (e.path[0] !== name) continue;
      // Values start as placeholders of the right kind: a tensor of the right shape, or null.
      sd[String(e.path[1])] = e.kind === "tensor" ? { dtype: e.dtype, shape: e.shape, data: new Uint8Array(0) } : null;
    }
    return sd;
  };
  const states: ManagerStates = { model };
  for (const name of ["optimizer", "lr_scheduler", "dataloader", "train_state"]) {
    const holder = new Holder(prefixed(name));
    // What was loaded is what the program holds from then on.
    holder.loadStateDict = (sd) => void (holder.loaded = sd, holder.sd = sd);
    states[name] = holder;
  }
  model.loadStateDict = (sd) => void (model.loaded = sd, model.sd = sd);
  return { states, model };
}

describe("TorchTitan 0.3.0 <-> CheckpointManager (llama3 debugmodel, CPU, gloo)", () => {
  let dir: string;
  let assets: string;
  let ref: Record<string, number>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-titan-"));
    assets = join(dir, "assets");
    py("prepare", assets);
    // The run that never leaves TorchTitan: 6 steps.
    py("train", assets, join(dir, "ref"), "6", join(dir, "ref.json"), "--checkpoint.interval", "100");
    ref = json(join(dir, "ref.json"));
  }, 900_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "TorchTitan saves step 3; ours loads it, saves it again, and TorchTitan resumes from ours with the same losses",
    async () => {
      expect(Object.keys(ref)).toEqual(["1", "2", "3", "4", "5", "6"]);
      expect(ref["6"]).toBeLessThan(ref["1"]);
      // Preempted after step 3's checkpoint (TorchTitan's own CheckpointManager writes it).
      py("train", assets, join(dir, "a"), "6", join(dir, "a.json"), "--stop-after", "3", "--checkpoint.interval", "3");
      expect(json(join(dir, "a.json"))).toEqual({ 1: ref["1"], 2: ref["2"], 3: ref["3"] });

      const titan = await openDcp(new FileStorage(join(dir, "a", "checkpoint")), "step-3");
      const { states, model } = await titanShapedStates(titan);
      const ours = new CheckpointManager({ checkpoint: { enable: true, interval: 1 } }, {
        storage: new FileStorage(join(dir, "a", "checkpoint")),
        states,
      });
      const loaded = await ours.load();
      expect(loaded).toMatchObject({ loaded: true, step: 3, source: "step" });
      expect(loaded.keys.model).toBe(57);
      expect((states.train_state as Holder).loaded!.get("step")).toBe(3);
      expect((states.lr_scheduler as Holder).loaded!.get("last_epoch")).toBe(3);
      expect((states.dataloader as Holder).loaded!.get("dp_rank_0")).toBeInstanceOf(Uint8Array);
      expect(model.loaded!.size).toBe(57);

      // Our manager writes the step into a folder of its own; TorchTitan resumes from it.
      const b = new FileStorage(join(dir, "b", "checkpoint"));
      const writer = new CheckpointManager({ checkpoint: { enable: true, interval: 3 } }, { storage: b, states });
      expect((await writer.save(3)).saved).toBe(true);
      await writer.close();
      const mine = await openDcp(b, "step-3");
      const layout = (c: DcpCheckpoint) =>
        c.entries().map((e) =>
          JSON.stringify([e.name, e.path, e.kind, e.kind === "tensor" ? [e.dtype, e.shape] : null])
        ).sort();
      expect(layout(mine)).toEqual(layout(titan));
      expect(
        titan.entries().some((e) => e.name === "optimizer.state.layers.0.attention.qkv_linear.wqkv.weight.exp_avg"),
      ).toBe(true);
      await Promise.all([mine.close(), titan.close()]);

      py("train", assets, join(dir, "b"), "6", join(dir, "b.json"), "--checkpoint.interval", "100");
      expect(json(join(dir, "b.json"))).toEqual({ 4: ref["4"], 5: ref["5"], 6: ref["6"] });
    },
    900_000,
  );

  it(
    "a model-only bfloat16 last save loads into TorchTitan's model as the bfloat16 rounding of the weights",
    async () => {
      const titanDir = join(dir, "a", "checkpoint");
      const { states } = await titanShapedStates(await openDcp(new FileStorage(titanDir), "step-3"));
      await new CheckpointManager({ checkpoint: { enable: true } }, { storage: new FileStorage(titanDir), states })
        .load(3);
      const out = new FileStorage(join(dir, "bf16", "checkpoint"));
      const m = new CheckpointManager({ checkpoint: { enable: true, export_dtype: "bfloat16" } }, {
        storage: out,
        states,
      });
      expect((await m.save(3, { last: true })).kind).toBe("model-only");
      const result = join(dir, "bf16.json");
      py(
        "check-load",
        assets,
        join(dir, "bf16-load"),
        join(titanDir, "step-3"),
        "bfloat16",
        result,
        "--checkpoint.initial_load_path",
        join(dir, "bf16", "checkpoint", "step-3"),
      );
      expect(json(result)).toMatchObject({ loaded: true, keys: 57, max_abs_diff: 0 });
      expect(json(result).changed_by_cast).toBeGreaterThan(50);
    },
    600_000,
  );

  it("an HF last save loads into TorchTitan through its own llama3 state dict adapter", async () => {
    const titanDir = join(dir, "a", "checkpoint");
    const { states } = await titanShapedStates(await openDcp(new FileStorage(titanDir), "step-3"));
    await new CheckpointManager({ checkpoint: { enable: true } }, { storage: new FileStorage(titanDir), states }).load(
      3,
    );
    const out = new FileStorage(join(dir, "hf", "checkpoint"));
    const m = new CheckpointManager({ checkpoint: { enable: true, last_save_in_hf: true, export_dtype: "bfloat16" } }, {
      storage: out,
      states,
      adapter: { model: "llama3", flavor: "debugmodel" },
    });
    expect((await m.save(3, { last: true })).kind).toBe("hf");
    const result = join(dir, "hf.json");
    py(
      "check-load",
      assets,
      join(dir, "hf-load"),
      join(titanDir, "step-3"),
      "bfloat16",
      result,
      "--checkpoint.initial_load_path",
      join(dir, "hf", "checkpoint", "step-3"),
      "--checkpoint.initial_load_in_hf",
    );
    expect(json(result)).toMatchObject({ loaded: true, keys: 57, max_abs_diff: 0 });
  }, 600_000);

  it("TorchTitan resumes from our seed checkpoint (step-0, model only) and holds exactly its values", async () => {
    await createSeedCheckpoint(new FileStorage(join(dir, "seed", "checkpoint")), {
      model: "llama3",
      flavor: "debugmodel",
      seed: 5,
    });
    const result = join(dir, "seed.json");
    py("check-load", assets, join(dir, "seed"), join(dir, "seed", "checkpoint", "step-0"), "float32", result);
    expect(json(result)).toMatchObject({ loaded: true, keys: 57, max_abs_diff: 0 });
  }, 600_000);
});
