import { describe, expect, it } from "vitest";
import {
  type AdapterSourceEntry,
  getAdapter,
  LLAMA3_FLAVORS,
  LLAMA3_KEY_GENERATIONS,
  llama3Parameters,
  rotaryFromHfRows,
  rotaryToHfRows,
} from "../../src/adapters/mod.ts";

function titanEntries(flavor: string, keys: "classic" | "head" = "head"): AdapterSourceEntry[] {
  return llama3Parameters(LLAMA3_FLAVORS[flavor], LLAMA3_KEY_GENERATIONS[keys]).map((p) => ({
    name: p.titan,
    dtype: "bfloat16",
    shape: p.shape,
  }));
}

function hfEntries(flavor: string): AdapterSourceEntry[] {
  return llama3Parameters(LLAMA3_FLAVORS[flavor], LLAMA3_KEY_GENERATIONS.head).map((p) => ({
    name: p.hf,
    dtype: "float32",
    shape: p.shape,
  }));
}

const toHf = (flavor: string, keys?: "classic" | "head") => getAdapter("llama3", { flavor, direction: "to-hf", keys });
const fromHf = (flavor: string, keys?: "classic" | "head") =>
  getAdapter("llama3", { flavor, direction: "from-hf", keys });

describe("llama3 adapter: to-hf", () => {
  it("maps the HEAD keys of debugmodel onto HF names with rotary permutations only on q_proj/k_proj", () => {
    const plan = toHf("debugmodel").plan(titanEntries("debugmodel"));
    expect(plan.dropped).toEqual([]);
    expect(plan.entries).toHaveLength(57);
    const byTarget = new Map(plan.entries.map((e) => [e.targetName, e]));
    const q = byTarget.get("model.layers.3.self_attn.q_proj.weight")!;
    expect(q.sourceName).toBe("layers.3.attention.qkv_linear.wq.weight");
    expect(q.shape).toEqual([256, 256]);
    expect(q.dtype).toBe("bfloat16");
    expect(Array.from(q.rowPermutation!)).toEqual(Array.from(rotaryToHfRows(16, 256)));
    expect(byTarget.get("model.layers.3.self_attn.k_proj.weight")!.rowPermutation).toBeDefined();
    expect(byTarget.get("model.layers.0.mlp.gate_proj.weight")!.sourceName).toBe("layers.0.feed_forward.w1.weight");
    expect(byTarget.get("model.layers.0.mlp.up_proj.weight")!.sourceName).toBe("layers.0.feed_forward.w3.weight");
    expect(byTarget.get("model.layers.5.post_attention_layernorm.weight")!.sourceName).toBe("layers.5.ffn_norm.weight");
    expect(byTarget.get("lm_head.weight")!.sourceName).toBe("lm_head.weight");
    const permuted = plan.entries.filter((e) => e.rowPermutation).map((e) => e.targetName);
    expect(permuted).toHaveLength(12);
    expect(permuted.every((n) => /self_attn\.[qk]_proj/.test(n))).toBe(true);
  });

  it("detects classic keys (output.weight, attention.wq) and maps them to the same HF names", () => {
    const classic = toHf("debugmodel").plan(titanEntries("debugmodel", "classic"));
    const head = toHf("debugmodel").plan(titanEntries("debugmodel", "head"));
    expect(classic.entries.map((e) => e.targetName)).toEqual(head.entries.map((e) => e.targetName));
    expect(classic.entries.find((e) => e.targetName === "lm_head.weight")!.sourceName).toBe("output.weight");
    expect(classic.entries[1].sourceName).toBe("layers.0.attention.wq.weight");
  });

  it("permutes wk of a GQA flavor by its kv heads: 8B k_proj has 1024 rows in 8 heads", () => {
    const plan = toHf("8B").plan(titanEntries("8B"));
    const k = plan.entries.find((e) => e.targetName === "model.layers.31.self_attn.k_proj.weight")!;
    expect(k.shape).toEqual([1024, 4096]);
    expect(Array.from(k.rowPermutation!)).toEqual(Array.from(rotaryToHfRows(8, 1024)));
    const q = plan.entries.find((e) => e.targetName === "model.layers.31.self_attn.q_proj.weight")!;
    expect(Array.from(q.rowPermutation!)).toEqual(Array.from(rotaryToHfRows(32, 4096)));
  });

  it("omits lm_head for a tied flavor (1B) and says why", () => {
    const plan = toHf("1B").plan(titanEntries("1B"));
    expect(plan.entries.some((e) => e.targetName === "lm_head.weight")).toBe(false);
    expect(plan.dropped).toEqual([{ name: "lm_head.weight", reason: expect.stringMatching(/tied/) }]);
  });

  it("unwraps a model. prefix and drops a persistent freqs_cis buffer (older full checkpoints)", () => {
    const entries = [
      ...titanEntries("debugmodel", "classic").map((e) => ({ ...e, name: `model.${e.name}` })),
      { name: "model.freqs_cis", dtype: "complex64" as const, shape: [131072, 8] },
    ];
    const plan = toHf("debugmodel").plan(entries);
    expect(plan.entries[0]).toMatchObject({
      targetName: "model.embed_tokens.weight",
      sourceName: "model.tok_embeddings.weight",
    });
    expect(plan.dropped.map((d) => d.name)).toEqual(["model.freqs_cis"]);
  });

  it("extraFiles() gives the flavor's config.json", () => {
    const files = toHf("8B").extraFiles({ dtype: "bfloat16" });
    expect(files.map((f) => f.path)).toEqual(["config.json"]);
    const config = JSON.parse(new TextDecoder().decode(files[0].bytes));
    expect(config).toMatchObject({ hidden_size: 4096, intermediate_size: 14336, torch_dtype: "bfloat16" });
  });
});

describe("llama3 adapter: from-hf", () => {
  it("maps HF names onto torchtitan 0.3.0 keys and reverse-permutes q/k", () => {
    const plan = fromHf("debugmodel").plan(hfEntries("debugmodel"));
    const q = plan.entries.find((e) => e.sourceName === "model.layers.2.self_attn.q_proj.weight")!;
    expect(q.targetName).toBe("layers.2.attention.qkv_linear.wq.weight");
    expect(Array.from(q.rowPermutation!)).toEqual(Array.from(rotaryFromHfRows(16, 256)));
    expect(plan.entries.map((e) => e.targetName)).toEqual(titanEntries("debugmodel").map((e) => e.name));
  });

  it("writes classic keys when asked", () => {
    const plan = fromHf("debugmodel", "classic").plan(hfEntries("debugmodel"));
    expect(plan.entries.map((e) => e.targetName)).toEqual(titanEntries("debugmodel", "classic").map((e) => e.name));
  });

  it("ignores rotary_emb.inv_freq buffers", () => {
    const entries = [...hfEntries("debugmodel"), {
      name: "model.layers.0.self_attn.rotary_emb.inv_freq",
      dtype: "float32" as const,
      shape: [8],
    }];
    const plan = fromHf("debugmodel").plan(entries);
    expect(plan.entries).toHaveLength(57);
    expect(plan.dropped.map((d) => d.name)).toEqual(["model.layers.0.self_attn.rotary_emb.inv_freq"]);
  });

  it("fills a tied flavor's output head from embed_tokens when HF has no lm_head", () => {
    const entries = hfEntries("1B").filter((e) => e.name !== "lm_head.weight");
    const plan = fromHf("1B").plan(entries);
    const head = plan.entries.find((e) => e.targetName === "lm_head.weight")!;
    expect(head).toEqual({
      targetName: "lm_head.weight",
      sourceName: "model.embed_tokens.weight",
      dtype: "float32",
      shape: [128256, 2048],
    });
    expect(plan.entries).toHaveLength(147);
  });

  it("extraFiles() is empty: a DCP folder needs no config", () => {
    expect(fromHf("debugmodel").extraFiles()).toEqual([]);
  });
});

describe("llama3 adapter: round trip", () => {
  for (const flavor of ["debugmodel", "1B", "8B"]) {
    it(`to-hf then from-hf is the identity on ${flavor}'s names, shapes and rows`, () => {
      const source = titanEntries(flavor);
      const there = toHf(flavor).plan(source);
      const hf = there.entries.map((e) => ({ name: e.targetName, dtype: e.dtype, shape: e.shape }));
      const back = fromHf(flavor).plan(hf);
      const hfByName = new Map(there.entries.map((e) => [e.targetName, e]));
      const sourceByName = new Map(source.map((e) => [e.name, e]));
      // Tied flavors lose lm_head on the way out and regain it from the embedding on the way back.
      expect(back.entries.map((e) => e.targetName).sort()).toEqual(source.map((e) => e.name).sort());
      for (const b of back.entries) {
        const out = hfByName.get(b.sourceName)!;
        const original = sourceByName.get(b.targetName)!;
        expect(b.shape).toEqual(original.shape);
        if (out.sourceName !== b.targetName) {
          expect(b.targetName).toBe("lm_head.weight");
          expect(out.sourceName).toBe("tok_embeddings.weight");
          continue;
        }
        expect(Boolean(b.rowPermutation)).toBe(Boolean(out.rowPermutation));
        if (b.rowPermutation && out.rowPermutation) {
          // titan row i -> hf row: out.perm maps hf<-titan; b.perm maps titan<-hf; composed they must be i.
          const misplaced = b.rowPermutation.filter((hfRow, i) => out.rowPermutation![hfRow] !== i).length;
          expect(misplaced).toBe(0);
        }
      }
    });
  }
});
