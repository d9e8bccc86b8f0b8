/**
 * A TypeScript training program checkpointed the way TorchTitan checkpoints (`npx deno task train`, or
 * `deno run -A examples/train/train.ts [config.toml] [--checkpoint.interval 10 ...]`): an MLP trained with
 * AdamW on generated data, a `[checkpoint]` TOML config, interval saves written asynchronously, resuming
 * from the newest complete step after any crash. The data, the model and the optimizer are deterministic,
 * so a run killed at any moment and restarted ends with exactly the parameters of a run never killed.
 *
 * Prints one JSON line per event (`resumed`, `step`, `saved`, `done`) for tests and people.
 */
import process from "node:process";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CheckpointManager, loadConfig, type StateDict, type Stateful, type Tensor } from "../../mod.ts";
import { AdamW } from "./adamw.ts";
import { GpuTrainer } from "./gpu_trainer.ts";
import { batch, initParams, lossAndGrads, type MlpParams, type MlpShape, PARAM_NAMES, paramShapes } from "./mlp.ts";

const argv = process.argv.slice(2);
const configPath = argv[0] && !argv[0].startsWith("--")
  ? argv.shift()!
  : new URL("./train.toml", import.meta.url).pathname;
const { config, doc, rest } = loadConfig({ source: await readFile(configPath, "utf8"), args: argv, path: configPath });
// The example's own keys of [model] and [training] from the command line (`--training.device cpu`).
for (let i = 0; i < rest.length; i += 2) {
  const m = /^--(model|training)\.(\w+)$/.exec(rest[i]);
  if (!m || rest[i + 1] === undefined) throw new Error(`unknown argument: ${rest[i]}`);
  const value = rest[i + 1];
  (doc[m[1]] as Record<string, unknown>)[m[2]] = /^-?[\d.]+$/.test(value) ? Number(value) : value;
}
const num = (table: string, key: string) => Number((doc[table] as Record<string, unknown>)[key]);
const shape: MlpShape = {
  inputs: num("model", "inputs"),
  hidden: num("model", "hidden"),
  outputs: num("model", "outputs"),
};
const batchSize = num("training", "batch");
const warmup = num("training", "warmup_steps");
const baseLr = num("training", "lr");

const adamOptions = {
  lr: baseLr,
  betas: [0.9, 0.95] as [number, number],
  eps: 1e-8,
  weightDecay: num("training", "weight_decay"),
};
const params = initParams(shape);
const shapes = paramShapes(shape);
const cpuOptimizer = new AdamW(params, shapes, adamOptions);
// WebGPU when an adapter exists (`[training] device = "auto"`), else the CPU; "gpu" insists, "cpu" never asks.
const wanted = String((doc.training as Record<string, unknown>).device ?? "auto");
const adapter = wanted === "cpu" ? null : await globalThis.navigator?.gpu?.requestAdapter();
if (wanted === "gpu" && !adapter) throw new Error("training.device = gpu, but there is no WebGPU adapter");
const gpu = adapter ? new GpuTrainer(await adapter.requestDevice(), shape, batchSize, adamOptions) : undefined;
let step = 0;
let samplesSeen = 0;

const f32Tensor = (s: number[], a: Float32Array): Tensor => ({
  dtype: "float32",
  shape: s,
  data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
});
const cpuModel: Stateful = {
  stateDict: () => Object.fromEntries(PARAM_NAMES.map((n) => [n, f32Tensor(shapes[n], params[n])])),
  loadStateDict: (sd) => {
    for (const n of PARAM_NAMES) params[n].set(new Float32Array((sd.get(n) as Tensor).data.slice().buffer));
  },
};
const lrScheduler: Stateful = {
  stateDict: () => ({ last_epoch: step }),
  loadStateDict: (sd) => void (step = sd.get("last_epoch") as number),
};
const dataloader: Stateful = {
  // One BYTE_IO entry per data-parallel rank, as TorchTitan's dataloader (here: the next sample's index).
  stateDict: (): StateDict => ({
    dp_rank_0: new TextEncoder().encode(JSON.stringify({ sample_idx: samplesSeen })),
    world_size: 1,
  }),
  loadStateDict: (sd) =>
    void (samplesSeen = JSON.parse(new TextDecoder().decode(sd.get("dp_rank_0") as Uint8Array)).sample_idx),
};
const trainState: Stateful = {
  stateDict: () => ({ step, ntokens_seen: samplesSeen * shape.inputs }),
  loadStateDict: (sd) => void (step = sd.get("step") as number),
};

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const ckpt = new CheckpointManager(config, {
  states: {
    model: gpu?.model ?? cpuModel,
    optimizer: gpu?.optimizer ?? cpuOptimizer,
    lr_scheduler: lrScheduler,
    dataloader,
    train_state: trainState,
  },
});
const resumed = await ckpt.maybeLoad();
say({ event: "resumed", ...resumed, folder: resolve(config.folder), device: gpu ? "gpu" : "cpu" });

while (step < config.steps) {
  step += 1;
  const lr = Math.fround(baseLr * Math.min(1, step / warmup));
  const { x, y } = batch(shape, samplesSeen / batchSize, batchSize);
  samplesSeen += batchSize;
  let loss: number;
  if (gpu) {
    gpu.lr = lr;
    loss = await gpu.step(x, y);
  } else {
    cpuOptimizer.lr = lr;
    const r = lossAndGrads(shape, params, x, y, batchSize);
    // With async_with_pinned_mem the last save copies host tensors in the background: the optimizer waits for
    // that copy, as TorchTitan's trainer does (the GPU path needs no wait: its device runs the copies first).
    await ckpt.maybeWaitForStaging();
    cpuOptimizer.step(r.grads as unknown as MlpParams);
    loss = r.loss;
  }
  const saved = await ckpt.save(step, { last: step === config.steps });
  say({ event: "step", step, loss });
  if (saved.saved) {
    saved.done.then((t) => say({ event: "saved", step: saved.step, kind: saved.kind, ...t }), () => {});
  }
}
await ckpt.close();
say({ event: "done", step });
gpu?.device.destroy();
