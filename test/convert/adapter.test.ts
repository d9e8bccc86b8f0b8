import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { getAdapter, LLAMA3_KEY_GENERATIONS, llama3Flavor, llama3Parameters } from "../../src/adapters/mod.ts";
import { convert, diff } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { makeTensor, numel } from "../../src/tensor/mod.ts";
import { at, removeDir, tempDir } from "./fixtures.ts";

const engine = createCpuEngine();
const toHf = () => getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf", keys: "classic" });
const fromHf = () => getAdapter("llama3", { flavor: "debugmodel", direction: "from-hf", keys: "classic" });
let dir: string;

/** Seeded values in [-1, 1) so every run builds the same model. */
function randomTensor(shape: number[], seed: number): Tensor {
  const values = new Float32Array(numel(shape));
  let s = seed >>> 0;
  for (let i = 0; i < values.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = s / 2 ** 31 - 1;
  }
  return makeTensor("float32", shape, new Uint8Array(values.buffer));
}

beforeAll(async () => {
  dir = tempDir("adapter");
  const params = llama3Parameters(llama3Flavor("debugmodel"), LLAMA3_KEY_GENERATIONS.classic);
  const state = Object.fromEntries(params.map((p, i) => [p.titan, randomTensor(p.shape, i + 1)]));
  await saveStateDict(at(dir).storage, "titan", state, { ranks: 2 });
  await convert(at(dir, "titan"), at(dir, "hf"), { to: "safetensors", adapter: toHf(), engine });
}, 120_000);
afterAll(() => removeDir(dir));

describe("convert() and diff() through the llama3 adapter", () => {
  test("to-hf writes HF names, the rotary row order and a config.json", async () => {
    const hf = await openTensorSource(at(dir).storage, "hf");
    const titan = await openTensorSource(at(dir).storage, "titan");
    try {
      expect(hf.entries.map((e) => e.name)).toContain("model.layers.5.self_attn.q_proj.weight");
      const q = await hf.readTensor("model.layers.0.self_attn.q_proj.weight", { offsets: [1, 0], sizes: [1, 256] });
      const wq = await titan.readTensor("layers.0.attention.wq.weight", { offsets: [2, 0], sizes: [1, 256] });
      // head_dim 16: HF row 1 is TorchTitan row 2 (real parts first, then imaginary parts).
      expect(q.data).toEqual(wq.data);
    } finally {
      await hf.close();
      await titan.close();
    }
    expect(JSON.parse(new TextDecoder().decode(await at(dir).storage.readAll("hf/config.json")))).toMatchObject({
      hidden_size: 256,
    });
  });

  test("diff() through the adapter finds the HF copy bit-identical; without it every key is one-sided", async () => {
    const through = await diff(at(dir, "titan"), at(dir, "hf"), { adapter: toHf(), engine });
    expect(through.tensors).toHaveLength(57);
    expect(through.identical).toBe(true);
    const plain = await diff(at(dir, "titan"), at(dir, "hf"), { engine });
    expect(plain.tensors).toEqual([]);
    expect([plain.onlyInA.length, plain.onlyInB.length]).toEqual([57, 57]);
  });

  test("from-hf back to a 3-rank DCP (chunk edges cut through heads) round-trips bit for bit", async () => {
    await convert(at(dir, "hf"), at(dir, "back"), { to: "dcp", adapter: fromHf(), layout: dimSplitLayout(3), engine });
    const r = await diff(at(dir, "titan"), at(dir, "back"), { engine });
    expect(r.identical).toBe(true);
    expect(r.tensors).toHaveLength(57);
  });

  test("streaming the permuted rows one row band at a time gives the same files", async () => {
    await convert(at(dir, "titan"), at(dir, "hf_rows"), { to: "safetensors", adapter: toHf(), bandBytes: 1, engine });
    const r = await diff(at(dir, "hf"), at(dir, "hf_rows"), { engine });
    expect(r.tensors).toHaveLength(57);
    expect(r.identical).toBe(true);
  });

  test("diff() through the adapter reports the error of a bfloat16 HF export", async () => {
    await convert(at(dir, "titan"), at(dir, "hf_bf16"), {
      to: "safetensors",
      adapter: toHf(),
      dtype: "bfloat16",
      engine,
    });
    const r = await diff(at(dir, "titan"), at(dir, "hf_bf16"), { adapter: toHf(), engine });
    expect(r.onlyInA).toEqual([]);
    expect(r.onlyInB).toEqual([]);
    const worst = Math.max(...r.tensors.map((t) => t.maxRelError));
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(2 ** -8);
    expect(r.tensors.every((t) => t.mismatch === "dtype" && !t.equalBits)).toBe(true);
  });
});
