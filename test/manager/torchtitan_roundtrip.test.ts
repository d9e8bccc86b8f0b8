/**
 * The manager against the pinned torchtitan (0.3.0), CPU, one gloo process: TorchTitan's own Trainer and
 * CheckpointManager write and read the checkpoints on one side, ours on the other.
 *
 * How the round trip is read here, short of training llama3 in TypeScript: TorchTitan trains 3 steps
 * and is preempted after its step-3 checkpoint. Our manager loads that step into TypeScript states (model keys
 * from our llama3 parameter list, the other states from the keys their checkpoint prefix holds) and saves
 * those states through its own save policy into a folder of its own as the step they are (`train_state.step`
 * is 3, so our save is step 3: "the next step" of the issue is the save that follows the load, not a training
 * step we would have to compute). Then:
 * - full save: TorchTitan resumes from our folder, and its losses for steps 4-6 equal those of a 6-step run
 *   that never stopped; our step holds the same entries, planner paths and bytes as TorchTitan's.
 * - model-only bfloat16 and HF last saves hold the model only, which TorchTitan does not resume from (a step
 *   > 0 loads every state); its documented use is a new run's `initial_load_path` (with `initial_load_in_hf`
 *   for HF). The run that never left TorchTitan is then TorchTitan's own last save of the same step in the
 *   same form, and a new run from it: a new run from ours must load a model with the same bytes (a digest
 *   taken right after the load) and train to the same losses, step for step.
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

/** What `titan_train.py train` records: each step's loss, and a digest of the model its load produced. */
interface TitanRun {
  losses: Record<string, number>;
  loaded: string | null;
}

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

/** Every entry of two DCP checkpoints: the same names, planner paths, dtypes, shapes and bytes. */
async function expectSameCheckpoint(a: DcpCheckpoint, b: DcpCheckpoint): Promise<void> {
  const layout = (c: DcpCheckpoint) =>
    c.entries().map((e) => JSON.stringify([e.name, e.path, e.kind, e.kind === "tensor" ? [e.dtype, e.shape] : null]))
      .sort();
  expect(layout(a)).toEqual(layout(b));
  for (const e of a.entries()) {
    if (e.kind === "tensor") {
      const [x, y] = [await a.readTensor(e.name), await b.readTensor(e.name)];
      expect(Buffer.from(x.data).equals(Buffer.from(y.data)), e.name).toBe(true);
    } else expect(await a.readValue(e.name), e.name).toEqual(await b.readValue(e.name));
  }
}

describe("TorchTitan 0.3.0 <-> CheckpointManager (llama3 debugmodel, CPU, gloo)", () => {
  let dir: string;
  let assets: string;
  let ref: TitanRun;
  /** TorchTitan's step 3 of the preempted run. */
  let titanDir: string;

  /** A TorchTitan training run of `steps` steps dumping into `<dir>/<name>`. */
  function train(name: string, steps: number, ...overrides: string[]): TitanRun {
    py("train", assets, join(dir, name), String(steps), join(dir, `${name}.json`), ...overrides);
    return json(join(dir, `${name}.json`));
  }

  /** TypeScript states holding TorchTitan's step 3, loaded by our manager. */
  async function statesOfTitanStep3(): Promise<{ states: ManagerStates; model: Holder }> {
    const titan = await openDcp(new FileStorage(titanDir), "step-3");
    const held = await titanShapedStates(titan);
    await titan.close();
    const ours = new CheckpointManager({ checkpoint: { enable: true } }, {
      storage: new FileStorage(titanDir),
      states: held.states,
    });
    const loaded = await ours.load();
    expect(loaded).toMatchObject({ loaded: true, step: 3, source: "step" });
    return held;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-titan-"));
    assets = join(dir, "assets");
    titanDir = join(dir, "a", "checkpoint");
    py("prepare", assets);
    // The run that never leaves TorchTitan: 6 steps.
    ref = train("ref", 6, "--checkpoint.interval", "100");
    // Preempted after step 3's checkpoint (TorchTitan's own CheckpointManager writes it).
    const a = train("a", 6, "--stop-after", "3", "--checkpoint.interval", "3");
    expect(a).toEqual({ losses: { 1: ref.losses["1"], 2: ref.losses["2"], 3: ref.losses["3"] }, loaded: null });
  }, 900_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "TorchTitan saves step 3; ours loads it and saves it as our step 3; TorchTitan resumes from ours with the uninterrupted run's losses",
    async () => {
      expect(Object.keys(ref.losses)).toEqual(["1", "2", "3", "4", "5", "6"]);
      expect(ref.losses["6"]).toBeLessThan(ref.losses["1"]);
      const { states, model } = await statesOfTitanStep3();
      expect(model.loaded!.size).toBe(57);
      expect((states.train_state as Holder).loaded!.get("step")).toBe(3);
      expect((states.lr_scheduler as Holder).loaded!.get("last_epoch")).toBe(3);
      expect((states.dataloader as Holder).loaded!.get("dp_rank_0")).toBeInstanceOf(Uint8Array);

      // Our manager's policy saves step 3 (interval 3) into a folder of its own; TorchTitan resumes from it.
      const b = new FileStorage(join(dir, "b", "checkpoint"));
      const writer = new CheckpointManager({ checkpoint: { enable: true, interval: 3, async_mode: "async" } }, {
        storage: b,
        states,
      });
      expect((await writer.save(3)).saved).toBe(true);
      await writer.close();
      const [mine, titan] = await Promise.all([openDcp(b, "step-3"), openDcp(new FileStorage(titanDir), "step-3")]);
      await expectSameCheckpoint(mine, titan);
      expect(
        titan.entries().some((e) => e.name === "optimizer.state.layers.0.attention.qkv_linear.wqkv.weight.exp_avg"),
      ).toBe(true);
      await Promise.all([mine.close(), titan.close()]);

      const resumed = train("b", 6, "--checkpoint.interval", "100");
      expect(resumed.losses).toEqual({ 4: ref.losses["4"], 5: ref.losses["5"], 6: ref.losses["6"] });
      expect(resumed.loaded).not.toBeNull();
    },
    900_000,
  );

  it(
    "a model-only bfloat16 last save: TorchTitan's own bytes, and a new TorchTitan run from it loads and trains as from TorchTitan's",
    async () => {
      const { states } = await statesOfTitanStep3();
      const out = new FileStorage(join(dir, "ours-bf16", "checkpoint"));
      const m = new CheckpointManager({ checkpoint: { enable: true, export_dtype: "bfloat16" } }, {
        storage: out,
        states,
      });
      expect((await m.save(3, { last: true })).kind).toBe("model-only");
      // TorchTitan's own last save of the same 3 steps, model only in bfloat16 (llama3_debugmodel's config
      // turns last_save_model_only off; the flag turns it back on).
      const own = train(
        "titan-bf16",
        3,
        "--checkpoint.interval",
        "100",
        "--checkpoint.last_save_model_only",
        "--checkpoint.export_dtype",
        "bfloat16",
      );
      expect(own.losses).toEqual({ 1: ref.losses["1"], 2: ref.losses["2"], 3: ref.losses["3"] });
      const [mine, theirs] = await Promise.all([
        openDcp(out, "step-3"),
        openDcp(new FileStorage(join(dir, "titan-bf16", "checkpoint")), "step-3"),
      ]);
      await expectSameCheckpoint(mine, theirs);
      expect(mine.entries().every((e) => e.kind === "tensor" && e.dtype === "bfloat16")).toBe(true);
      await Promise.all([mine.close(), theirs.close()]);

      const from = (name: string, step: string) =>
        train(name, 3, "--checkpoint.interval", "100", "--checkpoint.initial_load_path", step);
      const fromOurs = from("from-ours-bf16", join(dir, "ours-bf16", "checkpoint", "step-3"));
      const fromTitan = from("from-titan-bf16", join(dir, "titan-bf16", "checkpoint", "step-3"));
      expect(fromOurs.loaded).not.toBeNull();
      expect(fromOurs).toEqual(fromTitan);
      expect(fromOurs.losses["1"]).not.toBe(ref.losses["1"]); // trained weights, not a fresh initialisation
    },
    900_000,
  );

  it(
    "an HF last save: a new TorchTitan run loads it through its llama3 adapter and trains as from TorchTitan's own HF save",
    async () => {
      const { states } = await statesOfTitanStep3();
      const out = new FileStorage(join(dir, "ours-hf", "checkpoint"));
      const m = new CheckpointManager(
        { checkpoint: { enable: true, last_save_in_hf: true, export_dtype: "bfloat16" } },
        { storage: out, states, adapter: { model: "llama3", flavor: "debugmodel" } },
      );
      expect((await m.save(3, { last: true })).kind).toBe("hf");
      const hf = [
        "--checkpoint.last_save_model_only",
        "--checkpoint.export_dtype",
        "bfloat16",
        "--checkpoint.last_save_in_hf",
      ];
      const own = train("titan-hf", 3, "--checkpoint.interval", "100", ...hf);
      expect(own.losses).toEqual({ 1: ref.losses["1"], 2: ref.losses["2"], 3: ref.losses["3"] });

      const from = (name: string, step: string) =>
        train(
          name,
          3,
          "--checkpoint.interval",
          "100",
          "--checkpoint.initial_load_path",
          step,
          "--checkpoint.initial_load_in_hf",
        );
      const fromOurs = from("from-ours-hf", join(dir, "ours-hf", "checkpoint", "step-3"));
      const fromTitan = from("from-titan-hf", join(dir, "titan-hf", "checkpoint", "step-3"));
      expect(fromOurs.loaded).not.toBeNull();
      expect(fromOurs).toEqual(fromTitan);
      expect(fromOurs.losses["1"]).not.toBe(ref.losses["1"]);
    },
    900_000,
  );

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
