import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getAdapter } from "../../src/adapters/mod.ts";
import { convert } from "../../src/jobs/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";

/** Runs a subcommand of test/interop/py/llama3_hf.py; it prints one JSON line whose `ok` says whether it held. */
function py(...args: string[]): { ok: boolean; [field: string]: unknown } {
  let out: string;
  try {
    out = execFileSync(inject("python"), ["test/interop/py/llama3_hf.py", ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    // A failed comparison exits 1 but still reports its numbers on stdout.
    out = (e as { stdout?: string }).stdout ?? "";
    if (!out.trim()) throw e;
  }
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

describe("TorchTitan llama3 debugmodel <-> HuggingFace LlamaForCausalLM, end to end", () => {
  let dir: string;
  let storage: FileStorage;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-llama3-hf-"));
    storage = new FileStorage(dir);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a dcp.save'd TorchTitan model converted --to-hf gives transformers the same logits", async () => {
    expect(py("tt-save", dir).ok).toBe(true);
    const report = await convert({ storage, path: "dcp" }, { storage, path: "hf" }, {
      to: "safetensors",
      adapter: getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf" }),
      engine: createCpuEngine(),
    });
    expect(report.tensors).toBe(57);
    expect(report.files).toContain("hf/config.json");
    const check = py("hf-check", join(dir, "hf"), join(dir, "ref.pt"));
    expect(check, JSON.stringify(check)).toMatchObject({ ok: true });
  });

  it("its safetensors are bit-identical to TorchTitan's own Llama3StateDictAdapter.to_hf", () => {
    const same = py("same-tensors", join(dir, "hf"), join(dir, "titan_hf.safetensors"));
    expect(same, JSON.stringify(same)).toMatchObject({ ok: true, keys: 57 });
  });

  it("an HF save_pretrained folder converted --from-hf loads into TorchTitan with the same logits", async () => {
    const back = join(dir, "back");
    expect(py("hf-save", back).ok).toBe(true);
    const backStorage = new FileStorage(back);
    const report = await convert({ storage: backStorage, path: "hf" }, { storage: backStorage, path: "dcp" }, {
      to: "dcp",
      adapter: getAdapter("llama3", { flavor: "debugmodel", direction: "from-hf" }),
      engine: createCpuEngine(),
    });
    expect(report.tensors).toBe(57);
    const check = py("tt-check", join(back, "dcp"), join(back, "ref.pt"));
    expect(check, JSON.stringify(check)).toMatchObject({ ok: true });
  });
});
