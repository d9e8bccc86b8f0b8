/** torchtune 0.6.1's FullModelHFCheckpointer loads the manager's bfloat16 HF last save as llama3. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { LLAMA3_FLAVORS, LLAMA3_KEY_GENERATIONS, llama3Parameters } from "../../src/adapters/mod.ts";
import { CheckpointManager } from "../../src/manager/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { f32, Holder } from "./states_fixture.ts";

describe("torchtune reads the HF last save", () => {
  const dir = mkdtempSync(join(tmpdir(), "webdcp-tune-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("FullModelHFCheckpointer loads it as llama3 with the weights of the bfloat16 model-only save", async () => {
    const params = llama3Parameters(LLAMA3_FLAVORS.debugmodel, LLAMA3_KEY_GENERATIONS.head);
    let k = 0;
    const model = new Holder(
      Object.fromEntries(params.map((p) => [p.titan, f32(p.shape, (i) => Math.sin(++k * 0.37 + i) / 4)])),
    );
    const save = async (folder: string, checkpoint: Record<string, unknown>) => {
      const m = new CheckpointManager({ checkpoint: { enable: true, export_dtype: "bfloat16", ...checkpoint } }, {
        storage: new FileStorage(join(dir, folder)),
        states: { model },
        adapter: { model: "llama3", flavor: "debugmodel" },
      });
      await m.save(10, { last: true });
      await m.close();
    };
    await save("hf", { last_save_in_hf: true });
    await save("dcp", {});
    const out = execFileSync(inject("python"), [
      "test/manager/py/torchtune_check.py",
      join(dir, "hf", "step-10"),
      join(dir, "dcp", "step-10"),
      dir,
    ], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(r).toMatchObject({ keys: 57, ref_keys: 57, dtypes: ["torch.bfloat16"], max_abs_diff: 0 });
  }, 300_000);
});
