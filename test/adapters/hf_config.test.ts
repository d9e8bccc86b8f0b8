import { describe, expect, it } from "vitest";
import { encodeHfConfig, LLAMA3_FLAVORS, llama3HfConfig } from "../../src/adapters/mod.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("llama3HfConfig()", () => {
  it("describes debugmodel as LlamaForCausalLM with llama3 RoPE scaling", () => {
    const config = llama3HfConfig(LLAMA3_FLAVORS.debugmodel);
    expect(config).toMatchObject({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: 256,
      intermediate_size: 768,
      num_hidden_layers: 6,
      num_attention_heads: 16,
      num_key_value_heads: 16,
      head_dim: 16,
      vocab_size: 2048,
      rms_norm_eps: 1e-5,
      max_position_embeddings: 131072,
      rope_theta: 500000,
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
      tie_word_embeddings: false,
      hidden_act: "silu",
      torch_dtype: "float32",
    });
    expect(config.rope_parameters).toEqual({ ...config.rope_scaling as object, rope_theta: 500000 });
    expect(config).not.toHaveProperty("bos_token_id");
  });

  it("ties the embeddings of 1B and gives Llama 3 token ids to 128256-token vocabularies", () => {
    expect(llama3HfConfig(LLAMA3_FLAVORS["1B"], { dtype: "bfloat16" })).toMatchObject({
      tie_word_embeddings: true,
      bos_token_id: 128000,
      eos_token_id: 128001,
      torch_dtype: "bfloat16",
      dtype: "bfloat16",
      intermediate_size: 8192,
      num_key_value_heads: 8,
      head_dim: 64,
    });
  });
});

describe("encodeHfConfig()", () => {
  it("keeps a decimal point on integral float fields, as Python's json writes floats", () => {
    const text = decode(encodeHfConfig(llama3HfConfig(LLAMA3_FLAVORS["8B"])));
    expect(text).toContain('"rope_theta": 500000.0,');
    expect(text).toContain('"factor": 8.0,');
    expect(text).toContain('"low_freq_factor": 1.0,');
    expect(text).toContain('"attention_dropout": 0.0,');
    expect(text).toContain('"original_max_position_embeddings": 8192\n');
    expect(text).toContain('"hidden_size": 4096,');
    expect(text.endsWith("}\n")).toBe(true);
  });

  it("round-trips through JSON.parse to the same values", () => {
    const config = llama3HfConfig(LLAMA3_FLAVORS["405B"]);
    expect(JSON.parse(decode(encodeHfConfig(config)))).toEqual(config);
  });

  it("leaves non-integral and non-float fields alone", () => {
    expect(decode(encodeHfConfig({ rms_norm_eps: 1e-5, vocab_size: 2048, factor: 1.5 }))).toBe(
      '{\n  "rms_norm_eps": 0.00001,\n  "vocab_size": 2048,\n  "factor": 1.5\n}\n',
    );
  });
});
