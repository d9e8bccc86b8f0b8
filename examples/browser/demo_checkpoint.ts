/**
 * The example page's checkpoint: a small Llama-shaped model (float32 and bfloat16 weights, uneven dim-0
 * shards) saved as a 4-rank DCP, deterministic so that every run and every test sees the same bytes.
 */
import { dcp, engine, type Storage, type Tensor } from "../../mod.ts";

/** mulberry32: a tiny seeded generator, the same numbers in every runtime. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DEMO_RANKS = 4;

/** The model's tensors by name (the DCP stores them under `model.`). */
export function demoModel(): Record<string, Tensor> {
  const rng = mulberry32(20261205);
  const f32 = (shape: number[]): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () => (rng() - 0.5) * 0.2);
    return { dtype: "float32", shape, data: new Uint8Array(values.buffer) };
  };
  const bf16 = (shape: number[]): Tensor => {
    const t = f32(shape);
    return { dtype: "bfloat16", shape, data: engine.convertCpu(t.data, "float32", "bfloat16") };
  };
  const dim = 16, vocab = 50, ffn = 42;
  const model: Record<string, Tensor> = { "tok_embeddings.weight": f32([vocab, dim]) };
  for (let l = 0; l < 3; l++) {
    model[`layers.${l}.attention.wq.weight`] = bf16([dim, dim]);
    model[`layers.${l}.attention.wo.weight`] = bf16([dim, dim]);
    model[`layers.${l}.feed_forward.w1.weight`] = f32([ffn, dim]);
    model[`layers.${l}.feed_forward.w2.weight`] = f32([dim, ffn]);
    model[`layers.${l}.attention_norm.weight`] = f32([dim]);
  }
  model["norm.weight"] = f32([dim]);
  model["output.weight"] = f32([vocab, dim]);
  return model;
}

/** Writes the demo checkpoint to `dir` of `storage` (4 ranks, dim-0 chunks). */
export async function writeDemoCheckpoint(storage: Storage, dir: string): Promise<void> {
  await dcp.saveStateDict(storage, dir, { model: demoModel(), train_state: { step: 100 } }, { ranks: DEMO_RANKS });
}
