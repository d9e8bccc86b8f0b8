import { UsageError } from "../../errors/mod.ts";

/** Llama 3.1 "llama" RoPE frequency scaling (TorchTitan `RoPE.Config`, HF `rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  /** How much longer the context is than the original's (`factor`). */
  factor: number;
  /** Wavelengths below original / `lowFreqFactor` keep their frequency. */
  lowFreqFactor: number;
  /** Wavelengths above original / `highFreqFactor` are scaled fully. */
  highFreqFactor: number;
  /** The context length the model was trained with. */
  originalMaxPositionEmbeddings: number;
}

/** The architecture of one TorchTitan llama3 flavor: everything that fixes parameter shapes and the forward. */
export interface Llama3Flavor {
  /** The flavor's name (`8B`, `debugmodel`, ...). */
  name: string;
  /** Model width. */
  dim: number;
  /** Transformer blocks. */
  nLayers: number;
  /** Attention heads. */
  nHeads: number;
  /** Key/value heads (grouped-query attention). */
  nKvHeads: number;
  /** Width of one head. */
  headDim: number;
  /** SwiGLU hidden size, from `ffnHiddenDim`. */
  ffnHiddenDim: number;
  /** TorchTitan's feed-forward width multiplier. */
  ffnDimMultiplier: number | null;
  /** The feed-forward width is rounded up to a multiple of this. */
  multipleOf: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** RoPE base frequency. */
  ropeTheta: number;
  /** RoPE scaling, where the flavor has one. */
  ropeScaling: Llama3RopeScaling | null;
  /** RMSNorm epsilon. */
  normEps: number;
  /** RoPE cache length; HF's `max_position_embeddings`. */
  maxSeqLen: number;
  /** `lm_head` shares `tok_embeddings`' weight (`enable_weight_tying`). */
  weightTying: boolean;
}

/** TorchTitan's `compute_ffn_hidden_dim`: 2/3 of 4*dim, times the multiplier, rounded up to `multipleOf`. */
export function ffnHiddenDim(dim: number, multipleOf: number, ffnDimMultiplier: number | null = null): number {
  let hidden = Math.trunc((2 * 4 * dim) / 3);
  if (ffnDimMultiplier !== null) hidden = Math.trunc(ffnDimMultiplier * hidden);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

const LLAMA_ROPE_SCALING: Llama3RopeScaling = {
  factor: 8.0,
  lowFreqFactor: 1.0,
  highFreqFactor: 4.0,
  originalMaxPositionEmbeddings: 8192,
};

interface FlavorSpec {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads?: number;
  ffnDimMultiplier?: number;
  multipleOf: number;
  vocabSize: number;
  weightTying?: boolean;
}

function flavor(name: string, spec: FlavorSpec): Llama3Flavor {
  const ffnDimMultiplier = spec.ffnDimMultiplier ?? null;
  return {
    name,
    dim: spec.dim,
    nLayers: spec.nLayers,
    nHeads: spec.nHeads,
    nKvHeads: spec.nKvHeads ?? spec.nHeads,
    headDim: spec.dim / spec.nHeads,
    ffnHiddenDim: ffnHiddenDim(spec.dim, spec.multipleOf, ffnDimMultiplier),
    ffnDimMultiplier,
    multipleOf: spec.multipleOf,
    vocabSize: spec.vocabSize,
    ropeTheta: 500000,
    ropeScaling: LLAMA_ROPE_SCALING,
    normEps: 1e-5,
    maxSeqLen: 131072,
    weightTying: spec.weightTying ?? false,
  };
}

const DEBUG: FlavorSpec = { dim: 256, nLayers: 6, nHeads: 16, multipleOf: 256, vocabSize: 2048 };

/**
 * The flavors of torchtitan 0.3.0 (`torchtitan.models.llama3.llama3_configs`). There the attention backend is
 * a separate argument, so `debugmodel_flex_attn` / `debugmodel_varlen_attn` are the debugmodel's weights.
 */
export const LLAMA3_FLAVORS: Readonly<Record<string, Llama3Flavor>> = Object.freeze({
  debugmodel: flavor("debugmodel", DEBUG),
  debugmodel_flex_attn: flavor("debugmodel_flex_attn", DEBUG),
  debugmodel_varlen_attn: flavor("debugmodel_varlen_attn", DEBUG),
  "1B": flavor("1B", {
    dim: 2048,
    nLayers: 16,
    nHeads: 32,
    nKvHeads: 8,
    ffnDimMultiplier: 1.5,
    multipleOf: 1024,
    vocabSize: 128256,
    weightTying: true,
  }),
  "3B": flavor("3B", {
    dim: 3072,
    nLayers: 28,
    nHeads: 24,
    nKvHeads: 8,
    ffnDimMultiplier: 1.0,
    multipleOf: 1024,
    vocabSize: 128256,
    weightTying: true,
  }),
  "8B": flavor("8B", {
    dim: 4096,
    nLayers: 32,
    nHeads: 32,
    nKvHeads: 8,
    ffnDimMultiplier: 1.3,
    multipleOf: 1024,
    vocabSize: 128256,
  }),
  "70B": flavor("70B", {
    dim: 8192,
    nLayers: 80,
    nHeads: 64,
    nKvHeads: 8,
    ffnDimMultiplier: 1.3,
    multipleOf: 4096,
    vocabSize: 128256,
  }),
  "405B": flavor("405B", {
    dim: 16384,
    nLayers: 126,
    nHeads: 128,
    nKvHeads: 8,
    ffnDimMultiplier: 1.2,
    multipleOf: 4096,
    vocabSize: 128256,
  }),
});

/** Looks a flavor up by its TorchTitan name; an unknown name is a usage error listing the known ones. */
export function llama3Flavor(name: string): Llama3Flavor {
  if (Object.hasOwn(LLAMA3_FLAVORS, name)) return LLAMA3_FLAVORS[name];
  throw new UsageError("E_USAGE", `unknown llama3 flavor '${name}' (known: ${Object.keys(LLAMA3_FLAVORS).join(", ")})`);
}
