import { describe, expect, it } from "vitest";
import { LLAMA3_FLAVORS, LLAMA3_KEY_GENERATIONS, llama3Parameters } from "../../src/adapters/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { CheckpointManager } from "../../src/manager/mod.ts";
import { openSafetensorsFolder, SAFETENSORS_INDEX_NAME } from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { f32, Holder } from "./states_fixture.ts";

function debugModel(keys: "head" | "classic" = "head"): Record<string, Tensor> {
  const params = llama3Parameters(LLAMA3_FLAVORS.debugmodel, LLAMA3_KEY_GENERATIONS[keys]);
  let k = 0;
  return Object.fromEntries(params.map((p) => [p.titan, f32(p.shape, (i) => Math.sin(++k + i) / 3)]));
}

describe("last_save_in_hf", () => {
  it("writes bf16 HF safetensors, config.json and the index last; the HF step loads back through the adapter", async () => {
    const storage = new MemoryStorage();
    const weights = debugModel();
    const m = new CheckpointManager(
      { checkpoint: { enable: true, last_save_in_hf: true, export_dtype: "bfloat16" } },
      { storage, states: { model: new Holder(weights) }, adapter: { model: "llama3", flavor: "debugmodel" } },
    );
    expect((await m.save(10, { last: true })).kind).toBe("hf");
    const names = (await storage.list("step-10"))!.map((e) => e.name).sort();
    expect(names).toEqual(["config.json", "model-00001-of-00001.safetensors", SAFETENSORS_INDEX_NAME]);
    const folder = await openSafetensorsFolder(storage, "step-10");
    expect(folder.tensors.get("model.layers.0.self_attn.q_proj.weight")!.dtype).toBe("bfloat16");
    expect(folder.tensors.size).toBe(Object.keys(weights).length);
    await folder.close();

    const back = new Holder(debugModel());
    const r = await new CheckpointManager({ checkpoint: { enable: true } }, {
      storage,
      states: { model: back },
      adapter: { model: "llama3", flavor: "debugmodel" },
    }).load();
    expect(r).toMatchObject({ loaded: true, step: 10, fromHf: true, modelOnly: true });
    // Every weight comes back as its bfloat16 rounding, rows in TorchTitan's order again.
    const engine = createCpuEngine();
    for (const [name, t] of Object.entries(weights)) {
      const want = await engine.convert(await engine.convert(t.data, "float32", "bfloat16"), "bfloat16", "float32");
      expect(Buffer.from((back.loaded!.get(name) as Tensor).data).equals(want), name).toBe(true);
    }
  });

  it("the older key generation (attention.wq, output) saves and loads the same way", async () => {
    const storage = new MemoryStorage();
    const weights = debugModel("classic");
    const adapter = { model: "llama3", flavor: "debugmodel", keys: "classic" };
    const m = new CheckpointManager({ checkpoint: { enable: true, last_save_in_hf: true } }, {
      storage,
      states: { model: new Holder(weights) },
      adapter,
    });
    await m.save(4, { last: true });
    const folder = await openSafetensorsFolder(storage, "step-4");
    expect(folder.tensors.has("lm_head.weight")).toBe(true);
    await folder.close();
    const back = new Holder(debugModel("classic"));
    await new CheckpointManager({ checkpoint: { enable: true } }, { storage, states: { model: back }, adapter }).load();
    for (const [name, t] of Object.entries(weights)) {
      expect(Buffer.from((back.loaded!.get(name) as Tensor).data).equals(t.data), name).toBe(true);
    }
  });
});
