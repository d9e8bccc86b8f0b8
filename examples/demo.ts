/**
 * The main job on a built-in example (`npx deno task demo`):
 *  1. build a small deterministic training state (float32 and bfloat16 layers, optimizer-like nested state with
 *     Python scalars), save it as a 4-rank sharded DCP checkpoint (dim-0 chunks, uneven splits included);
 *  2. read it back and check every tensor bit for bit and every value, then print the inspect table;
 *  3. reshard it 4 -> 3 ranks and check again;
 *  4. convert the model to bfloat16 HF safetensors and back to float32 DCP, and `diff` the round trip against
 *     the original: bfloat16 tensors come back with exactly their values (widened to float32, so `diff` lists
 *     their dtype as changed), float32 ones within bfloat16 rounding (2^-8 relative: 8 significant bits,
 *     round to nearest).
 *  5. write a llama3 seed checkpoint with `webdcp seed`, and run a toy program under the checkpoint manager
 *     (async interval saves, keep_latest_k, a restart that resumes from the newest step): demo_managed.ts.
 * Output goes to `.cache/demo/` under the current folder.
 */
import process from "node:process";
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { convert, dcp, diff, FileStorage, pickle, reshard, type Tensor } from "../mod.ts";
import { runCli } from "../src/cli/main.ts";
import { hostRuntime } from "../src/cli/runtime.ts";
import { managedRun } from "./demo_managed.ts";
import { demoModel } from "./demo_model.ts";

// The format layers are namespaces of the public API.
const { dimSplitLayout, openDcp, saveStateDict } = dcp;
const { PyFloat, pyRepr, tuple } = pickle;
type PyValue = pickle.PyValue;

const RANKS = 4;
const root = resolve(process.cwd(), ".cache/demo");
await rm(root, { recursive: true, force: true });
await mkdir(root, { recursive: true });
const storage = new FileStorage(root);

// 1. A deterministic state: 3 layers, vocab 50 and ffn 42 rows so that 4 ranks get uneven chunks.
const { model, f32 } = demoModel(20261125);

const optimizerState: Record<string, Record<string, Tensor>> = {};
for (const name of ["tok_embeddings.weight", "output.weight"]) {
  optimizerState[name] = {
    exp_avg: f32(model[name].shape),
    exp_avg_sq: f32(model[name].shape),
    step: { dtype: "float32", shape: [], data: new Uint8Array(new Float32Array([10]).buffer) },
  };
}
const state = {
  ...model,
  optimizer: {
    state: optimizerState,
    param_groups: [{
      lr: 3e-4,
      betas: tuple(0.9, 0.95),
      eps: 1e-8,
      weight_decay: new PyFloat(0),
      amsgrad: false,
      params: Object.keys(optimizerState),
    }],
  },
  lr_scheduler: { last_epoch: 10, base_lrs: [3e-4], _step_count: 11 },
  train_state: { step: 10, ntokens_seen: 40960 },
};
await saveStateDict(storage, "step-10", state as Record<string, PyValue | Tensor>, { ranks: RANKS });
log(`saved ${Object.keys(model).length} model tensors + optimizer state as ${RANKS}-rank DCP in ${root}/step-10`);

// 2. Read everything back and compare.
const expected = new Map<string, Tensor>(Object.entries(model));
for (const [p, s] of Object.entries(optimizerState)) {
  for (const [k, t] of Object.entries(s)) expected.set(`optimizer.state.${p}.${k}`, t);
}
await checkTensors("step-10", expected);
const ckpt = await openDcp(storage, "step-10");
const step = await ckpt.readValue("train_state.step");
const betas = await ckpt.readValue("optimizer.param_groups.0.betas");
await ckpt.close();
if (step !== 10) fail(`train_state.step read back as ${String(step)}`);
log(`read back bit-identical: ${expected.size} tensors; train_state.step = ${step}, betas = ${pyRepr(betas)}`);
await cli(["inspect", `${root}/step-10`]);

// 3. Reshard 4 -> 3 ranks.
await reshard({ storage, path: "step-10" }, { storage, path: "step-10-3ranks" }, { layout: dimSplitLayout(3) });
await checkTensors("step-10-3ranks", expected);
log("resharded 4 -> 3 ranks: every tensor bit-identical");

// 4. bfloat16 HF safetensors and back.
await convert({ storage, path: "step-10" }, { storage, path: "hf-bf16" }, {
  to: "safetensors",
  dtype: "bfloat16",
  modelOnly: true,
});
await convert({ storage, path: "hf-bf16" }, { storage, path: "step-10-from-hf" }, { to: "dcp", dtype: "float32" });
const report = await diff({ storage, path: "step-10" }, { storage, path: "step-10-from-hf" });
await cli(["diff", `${root}/step-10`, `${root}/step-10-from-hf`], [0, 1]);
for (const t of report.tensors) {
  const original = model[t.name];
  if (!original) continue;
  const bound = original.dtype === "bfloat16" ? 0 : 2 ** -8;
  if (t.maxRelError > bound) fail(`${t.name}: relative error ${t.maxRelError} exceeds ${bound}`);
}
const missing = Object.keys(model).filter((k) => report.onlyInA.includes(k));
if (missing.length > 0) fail(`model tensors lost in the round trip: ${missing.join(", ")}`);
log(
  `bf16 HF round trip: ${report.tensors.length} model tensors compared, max relative error ` +
    `${Math.max(...report.tensors.map((t) => t.maxRelError)).toExponential(3)} (bound 2^-8 = ${
      (2 ** -8).toExponential(3)
    }); ` +
    `${report.onlyInA.length} training-state entries left out by --model-only`,
);
await managedRun(root, (args) => cli(args), log);
log("demo OK");

async function checkTensors(dir: string, want: Map<string, Tensor>): Promise<void> {
  const c = await openDcp(storage, dir);
  try {
    for (const [fqn, t] of want) {
      const got = await c.readTensor(fqn);
      if (got.dtype !== t.dtype || got.shape.join() !== t.shape.join() || !bytesEqual(got.data, t.data)) {
        fail(`${dir}: ${fqn} differs after reading back`);
      }
    }
  } finally {
    await c.close();
  }
}

/** Runs a `webdcp` command; `okCodes` lists the exit codes that are not failures (diff exits 1 on differences). */
async function cli(args: string[], okCodes: number[] = [0]): Promise<void> {
  const code = await runCli({ ...hostRuntime(), args });
  if (!okCodes.includes(code)) fail(`webdcp ${args[0]} exited with ${code}`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function log(text: string): void {
  console.log(`demo: ${text}`);
}

function fail(text: string): never {
  console.error(`demo FAILED: ${text}`);
  process.exit(1);
}
