import { describe, expect, it } from "vitest";
import {
  type AdapterSourceEntry,
  getAdapter,
  LLAMA3_FLAVORS,
  LLAMA3_KEY_GENERATIONS,
  llama3Parameters,
} from "../../src/adapters/mod.ts";
import { FormatError, UsageError, type WebdcpError } from "../../src/errors/mod.ts";

function titanEntries(flavor = "debugmodel", keys: "classic" | "head" = "head"): AdapterSourceEntry[] {
  return llama3Parameters(LLAMA3_FLAVORS[flavor], LLAMA3_KEY_GENERATIONS[keys]).map((p) => ({
    name: p.titan,
    dtype: "float32",
    shape: p.shape,
  }));
}

function hfEntries(flavor = "debugmodel"): AdapterSourceEntry[] {
  return llama3Parameters(LLAMA3_FLAVORS[flavor], LLAMA3_KEY_GENERATIONS.head).map((p) => ({
    name: p.hf,
    dtype: "float32",
    shape: p.shape,
  }));
}

function thrown(fn: () => unknown): WebdcpError {
  try {
    fn();
  } catch (e) {
    return e as WebdcpError;
  }
  throw new Error("expected a throw");
}

const toHf = getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf" });
const fromHf = getAdapter("llama3", { flavor: "debugmodel", direction: "from-hf" });

describe("llama3 adapter rejects what it cannot map", () => {
  it("plan() names every unknown key with E_UNKNOWN_KEY and the source path", () => {
    const entries = [
      ...titanEntries(),
      { name: "layers.0.attention.wq.bias", dtype: "float32" as const, shape: [256] },
      { name: "mystery", dtype: "float32" as const, shape: [1] },
    ];
    const err = thrown(() => toHf.plan(entries, { path: "ckpt/step-10" }));
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe("E_UNKNOWN_KEY");
    expect(err.path).toBe("ckpt/step-10");
    expect(err.message).toContain("2 key(s)");
    expect(err.message).toContain("layers.0.attention.wq.bias");
    expect(err.message).toContain("mystery");
  });

  it("plan() treats a layer past the flavor's depth as unknown", () => {
    const entries = [...titanEntries(), { name: "layers.6.ffn_norm.weight", dtype: "float32" as const, shape: [256] }];
    expect(thrown(() => toHf.plan(entries)).message).toMatch(/E_UNKNOWN_KEY.*layers\.6\.ffn_norm\.weight/);
  });

  it("plan() does not read a zero-padded layer index as that layer", () => {
    const entries = titanEntries().map((e) =>
      e.name === "layers.1.ffn_norm.weight" ? { ...e, name: "layers.01.ffn_norm.weight" } : e
    );
    expect(thrown(() => toHf.plan(entries)).code).toBe("E_UNKNOWN_KEY");
  });

  it("plan() refuses a mix of both key generations, naming the older spellings", () => {
    const entries = [...titanEntries("debugmodel", "head"), {
      name: "output.weight",
      dtype: "float32" as const,
      shape: [2048, 256],
    }];
    const err = thrown(() => toHf.plan(entries));
    expect(err.code).toBe("E_UNKNOWN_KEY");
    expect(err.message).toMatch(/: output\.weight$/);
  });

  it("plan() suggests --model-only when training state is present", () => {
    const entries = [...titanEntries(), {
      name: "optimizer.state.norm.weight.exp_avg",
      dtype: "float32" as const,
      shape: [256],
    }];
    expect(thrown(() => toHf.plan(entries)).message).toMatch(/--model-only.*optimizer\.state\.norm\.weight\.exp_avg/);
  });

  it("plan() given HF keys for a to-hf conversion lists them as unknown", () => {
    const err = thrown(() => toHf.plan(hfEntries()));
    expect(err.code).toBe("E_UNKNOWN_KEY");
    // lm_head.weight is spelt the same on both sides, so 56 of the 57 HF keys are foreign.
    expect(err.message).toContain("56 key(s)");
    expect(err.message).toContain("model.embed_tokens.weight");
  });

  it("plan() lists every tensor whose shape does not fit the flavor (E_SHAPE)", () => {
    const entries = titanEntries().map((e) =>
      e.name === "layers.0.attention.qkv_linear.wk.weight"
        ? { ...e, shape: [64, 256] }
        : e.name === "norm.weight"
        ? { ...e, shape: [256, 1] }
        : e
    );
    const err = thrown(() => toHf.plan(entries));
    expect(err).toBeInstanceOf(FormatError);
    expect(err.code).toBe("E_SHAPE");
    expect(err.message).toContain("layers.0.attention.qkv_linear.wk.weight is [64, 256], expected [256, 256]");
    expect(err.message).toContain("norm.weight is [256, 1], expected [256]");
  });

  it("plan() names every missing parameter (E_MISSING_KEY) unless allowMissing is set", () => {
    const entries = titanEntries().filter((e) => !e.name.startsWith("layers.4.") && e.name !== "lm_head.weight");
    const err = thrown(() => toHf.plan(entries));
    expect(err.code).toBe("E_MISSING_KEY");
    expect(err.message).toContain("10 key(s)");
    expect(err.message).toContain("layers.4.feed_forward.w2.weight");
    expect(err.message).toContain("lm_head.weight");
    const partial = getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf", allowMissing: true }).plan(
      entries,
    );
    expect(partial.entries).toHaveLength(47);
  });

  it("from-hf requires lm_head for an untied flavor", () => {
    const entries = hfEntries().filter((e) => e.name !== "lm_head.weight");
    expect(thrown(() => fromHf.plan(entries)).message).toMatch(/E_MISSING_KEY.*: lm_head\.weight/);
  });

  it("from-hf cannot fill a tied head from an embedding of the wrong shape", () => {
    const adapter = getAdapter("llama3", { flavor: "1B", direction: "from-hf" });
    const entries = hfEntries("1B")
      .filter((e) => e.name !== "lm_head.weight")
      .map((e) => e.name === "model.embed_tokens.weight" ? { ...e, shape: [128256, 1024] } : e);
    expect(thrown(() => adapter.plan(entries)).code).toBe("E_SHAPE");
  });

  it("from-hf lists unknown HF keys such as a bias", () => {
    const entries = [...hfEntries(), {
      name: "model.layers.0.self_attn.q_proj.bias",
      dtype: "float32" as const,
      shape: [256],
    }];
    expect(thrown(() => fromHf.plan(entries)).message).toMatch(/E_UNKNOWN_KEY.*q_proj\.bias/);
  });

  it("getAdapter() rejects unknown models, flavors, directions and key generations as usage errors", () => {
    expect(() => getAdapter("llama4", { flavor: "8B", direction: "to-hf" })).toThrow(UsageError);
    expect(() => getAdapter("llama4", { flavor: "8B", direction: "to-hf" })).toThrow(/known: llama3/);
    expect(() => getAdapter("llama3", { flavor: "9B", direction: "to-hf" })).toThrow(/E_USAGE.*unknown llama3 flavor/);
    expect(() => getAdapter("llama3", { flavor: "8B", direction: "sideways" as "to-hf" })).toThrow(/direction/);
    expect(() => getAdapter("llama3", { flavor: "8B", direction: "to-hf", keys: "v2" })).toThrow(/key generation/);
  });
});
