import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  LLAMA3_FLAVORS,
  LLAMA3_KEY_GENERATIONS,
  llama3Parameters,
  rotaryFromHfRows,
  rotaryToHfRows,
} from "../../src/adapters/mod.ts";

interface TitanFlavor {
  params: Record<string, number[]>;
  dim: number;
  n_layers: number;
  n_heads: number;
  n_kv_heads: number;
  head_dim: number;
  ffn_hidden_dim: number;
  vocab_size: number;
  weight_tying: boolean;
  norm_eps: number;
  rope: {
    theta: number;
    scaling: string;
    factor: number;
    low_freq_factor: number;
    high_freq_factor: number;
    original_max_position_embeddings: number;
    max_seq_len: number;
  };
  permutations?: Record<"wq_to_hf" | "wk_to_hf" | "wq_from_hf" | "wk_from_hf", number[]>;
}

describe("llama3 flavors against the installed torchtitan", () => {
  let titan: Record<string, TitanFlavor>;

  beforeAll(() => {
    const out = execFileSync(inject("python"), ["test/interop/py/llama3_shapes.py"], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "pipe"],
    });
    titan = JSON.parse(out);
  });

  it("LLAMA3_FLAVORS covers every flavor of torchtitan's llama3_configs", () => {
    for (const name of Object.keys(titan)) expect(LLAMA3_FLAVORS[name]?.name).toBe(name);
  });

  it("llama3Parameters() gives every flavor exactly the real model's state-dict names and shapes", () => {
    for (const [name, real] of Object.entries(titan)) {
      const ours = Object.fromEntries(
        llama3Parameters(LLAMA3_FLAVORS[name], LLAMA3_KEY_GENERATIONS.head).map((p) => [p.titan, p.shape]),
      );
      expect(ours, name).toEqual(real.params);
      expect(Object.keys(ours), name).toEqual(Object.keys(real.params));
    }
  });

  it("each flavor's architecture fields equal torchtitan's config", () => {
    for (const [name, real] of Object.entries(titan)) {
      const f = LLAMA3_FLAVORS[name];
      expect(
        [f.dim, f.nLayers, f.nHeads, f.nKvHeads, f.headDim, f.ffnHiddenDim, f.vocabSize, f.weightTying, f.normEps],
        name,
      ).toEqual([
        real.dim,
        real.n_layers,
        real.n_heads,
        real.n_kv_heads,
        real.head_dim,
        real.ffn_hidden_dim,
        real.vocab_size,
        real.weight_tying,
        real.norm_eps,
      ]);
      expect(real.rope.scaling, name).toBe("llama");
      expect({ theta: f.ropeTheta, maxSeqLen: f.maxSeqLen, ...f.ropeScaling }, name).toEqual({
        theta: real.rope.theta,
        maxSeqLen: real.rope.max_seq_len,
        factor: real.rope.factor,
        lowFreqFactor: real.rope.low_freq_factor,
        highFreqFactor: real.rope.high_freq_factor,
        originalMaxPositionEmbeddings: real.rope.original_max_position_embeddings,
      });
    }
  });

  it("the rotary row orders equal those of torchtitan's Llama3StateDictAdapter._permute/_reverse_permute", () => {
    const checked = Object.entries(titan).filter(([, real]) => real.permutations !== undefined);
    expect(checked.length).toBeGreaterThanOrEqual(3);
    for (const [name, real] of checked) {
      const f = LLAMA3_FLAVORS[name];
      const q = f.nHeads * f.headDim;
      const k = f.nKvHeads * f.headDim;
      const perms = real.permutations!;
      expect(Array.from(rotaryToHfRows(f.nHeads, q)), name).toEqual(perms.wq_to_hf);
      expect(Array.from(rotaryToHfRows(f.nKvHeads, k)), name).toEqual(perms.wk_to_hf);
      expect(Array.from(rotaryFromHfRows(f.nHeads, q)), name).toEqual(perms.wq_from_hf);
      expect(Array.from(rotaryFromHfRows(f.nKvHeads, k)), name).toEqual(perms.wk_from_hf);
    }
  });
});
