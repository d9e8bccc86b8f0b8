import type { Llama3Flavor } from "./flavors.ts";

/**
 * TorchTitan renamed llama3 keys twice: `output.weight` -> `lm_head.weight` (commit 786e26f8) and
 * `attention.wq` -> `attention.qkv_linear.wq` (commit 70dd9455). The two renames landed separately, so each
 * is its own switch; `classic` is v0.1-v0.2.2, `head` is what torchtitan 0.3.0 writes.
 */
export interface Llama3KeyGeneration {
  /** The output projection's name. */
  output: "output" | "lm_head";
  /** Where the q/k/v projections live. */
  qkv: "attention" | "qkv_linear";
}

/** TorchTitan's key generations by name (`--keys`). */
export const LLAMA3_KEY_GENERATIONS: Readonly<Record<"classic" | "head", Llama3KeyGeneration>> = Object.freeze({
  classic: { output: "output", qkv: "attention" },
  head: { output: "lm_head", qkv: "qkv_linear" },
});

/** One parameter of the model under both names. */
export interface Llama3Parameter {
  /** The TorchTitan name. */
  titan: string;
  /** The HuggingFace name. */
  hf: string;
  /** The shape (the same under both names). */
  shape: number[];
  /** Heads whose rows the rotary permutation reorders (wq: n_heads, wk: n_kv_heads); absent for plain copies. */
  rotaryHeads?: number;
  /** The output head: optional when the flavor ties it to the embedding. */
  isOutputHead?: boolean;
}

/** Every parameter of a flavor's model, in TorchTitan's state-dict order. */
export function llama3Parameters(flavor: Llama3Flavor, keys: Llama3KeyGeneration): Llama3Parameter[] {
  const { dim, vocabSize, nHeads, nKvHeads, headDim, ffnHiddenDim: hidden } = flavor;
  const qkv = keys.qkv === "qkv_linear" ? "attention.qkv_linear" : "attention";
  const params: Llama3Parameter[] = [{
    titan: "tok_embeddings.weight",
    hf: "model.embed_tokens.weight",
    shape: [vocabSize, dim],
  }];
  for (let layer = 0; layer < flavor.nLayers; layer++) {
    const tt = `layers.${layer}.`;
    const hf = `model.layers.${layer}.`;
    params.push(
      {
        titan: `${tt}${qkv}.wq.weight`,
        hf: `${hf}self_attn.q_proj.weight`,
        shape: [nHeads * headDim, dim],
        rotaryHeads: nHeads,
      },
      {
        titan: `${tt}${qkv}.wk.weight`,
        hf: `${hf}self_attn.k_proj.weight`,
        shape: [nKvHeads * headDim, dim],
        rotaryHeads: nKvHeads,
      },
      { titan: `${tt}${qkv}.wv.weight`, hf: `${hf}self_attn.v_proj.weight`, shape: [nKvHeads * headDim, dim] },
      { titan: `${tt}attention.wo.weight`, hf: `${hf}self_attn.o_proj.weight`, shape: [dim, nHeads * headDim] },
      { titan: `${tt}feed_forward.w1.weight`, hf: `${hf}mlp.gate_proj.weight`, shape: [hidden, dim] },
      { titan: `${tt}feed_forward.w2.weight`, hf: `${hf}mlp.down_proj.weight`, shape: [dim, hidden] },
      { titan: `${tt}feed_forward.w3.weight`, hf: `${hf}mlp.up_proj.weight`, shape: [hidden, dim] },
      { titan: `${tt}attention_norm.weight`, hf: `${hf}input_layernorm.weight`, shape: [dim] },
      { titan: `${tt}ffn_norm.weight`, hf: `${hf}post_attention_layernorm.weight`, shape: [dim] },
    );
  }
  params.push(
    { titan: "norm.weight", hf: "model.norm.weight", shape: [dim] },
    { titan: `${keys.output}.weight`, hf: "lm_head.weight", shape: [vocabSize, dim], isOutputHead: true },
  );
  return params;
}
