/**
 * The small Llama-shaped model of the examples (the CLI demo and the browser page): 3 layers, float32 and
 * bfloat16 weights, vocab 50 and ffn 42 rows so that 4 ranks get uneven dim-0 chunks. Deterministic for a
 * seed, so every run and every test sees the same bytes.
 */
import { engine, type Tensor } from "../mod.ts";

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

/**
 * The model's tensors by name, and `f32`: random float32 tensors drawn from the same generator after the
 * model's (for state that goes with it, such as optimizer moments).
 */
export function demoModel(seed: number): { model: Record<string, Tensor>; f32: (shape: number[]) => Tensor } {
  const rng = mulberry32(seed);
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
  return { model, f32 };
}
