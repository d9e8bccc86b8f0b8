import type { DType } from "../../dtype/mod.ts";
import type { Llama3Flavor } from "./flavors.ts";

/** Llama 3 tokenizer ids (Meta's 128256-token vocabulary); smaller debug vocabularies have no fixed ids. */
const LLAMA3_BOS = 128000;
const LLAMA3_EOS = 128001;
const LLAMA3_VOCAB = 128256;

/**
 * A `config.json` for `LlamaForCausalLM` that builds the same network as TorchTitan's flavor. RoPE scaling is
 * written twice: `rope_theta` + `rope_scaling` for transformers 4.x and `rope_parameters` for 5.x; TorchTitan's
 * "llama" scaling and HF's "llama3" rope_type compute the same inverse frequencies.
 */
export function llama3HfConfig(flavor: Llama3Flavor, options: { dtype?: DType } = {}): Record<string, unknown> {
  const scaling = flavor.ropeScaling === null ? null : {
    rope_type: "llama3",
    factor: flavor.ropeScaling.factor,
    low_freq_factor: flavor.ropeScaling.lowFreqFactor,
    high_freq_factor: flavor.ropeScaling.highFreqFactor,
    original_max_position_embeddings: flavor.ropeScaling.originalMaxPositionEmbeddings,
  };
  const tokens = flavor.vocabSize === LLAMA3_VOCAB ? { bos_token_id: LLAMA3_BOS, eos_token_id: LLAMA3_EOS } : {};
  const dtype = options.dtype ?? "float32";
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: flavor.dim,
    intermediate_size: flavor.ffnHiddenDim,
    num_hidden_layers: flavor.nLayers,
    num_attention_heads: flavor.nHeads,
    num_key_value_heads: flavor.nKvHeads,
    head_dim: flavor.headDim,
    vocab_size: flavor.vocabSize,
    rms_norm_eps: flavor.normEps,
    max_position_embeddings: flavor.maxSeqLen,
    rope_theta: flavor.ropeTheta,
    rope_scaling: scaling,
    rope_parameters: { rope_type: "default", ...scaling, rope_theta: flavor.ropeTheta },
    tie_word_embeddings: flavor.weightTying,
    hidden_act: "silu",
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    ...tokens,
    torch_dtype: dtype,
    dtype,
  };
}

// Python reads `8` as an int; transformers 4.x warns unless RoPE factors are floats, so they keep a `.0`.
const FLOAT_KEYS = new Set([
  "rope_theta",
  "factor",
  "low_freq_factor",
  "high_freq_factor",
  "rms_norm_eps",
  "attention_dropout",
  "initializer_range",
]);
const FLOAT_MARK = "\u0000float:";

/** Serialises a config the way `save_pretrained` lays it out (2-space JSON, floats keep a decimal point). */
export function encodeHfConfig(config: Record<string, unknown>): Uint8Array {
  const text = JSON.stringify(
    config,
    (key, value) => (FLOAT_KEYS.has(key) && Number.isInteger(value) ? `${FLOAT_MARK}${value}` : value),
    2,
  ).replace(/"\\u0000float:(-?\d+)"/g, "$1.0");
  return new TextEncoder().encode(text + "\n");
}
