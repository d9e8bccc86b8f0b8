import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getAdapter } from "../../src/adapters/mod.ts";
import { convert } from "../../src/jobs/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";

function py(script: string, ...args: string[]): { ok: boolean; [field: string]: unknown } {
  const out = execFileSync(inject("python"), [`test/interop/py/${script}`, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

describe("--hf-assets-path with an assets folder that has no config.json (as TorchTitan's HF export leaves it)", () => {
  let dir: string;
  let storage: FileStorage;

  let made: { ok: boolean; [field: string]: unknown };

  // TorchTitan's debug model saved with dcp.save (and its logits), and the assets folder: slow on a busy machine.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-hf-assets-"));
    storage = new FileStorage(dir);
    expect(py("llama3_hf.py", "tt-save", dir).ok).toBe(true);
    made = py("hf_assets.py", "make", join(dir, "assets"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "writes the flavor's config.json, copies tokenizer and generation files; transformers loads all of it",
    async () => {
      expect(made.files).toEqual(
        expect.arrayContaining(["generation_config.json", "tokenizer.json", "tokenizer_config.json"]),
      );
      expect(made.files).not.toContain("config.json");

      const report = await convert({ storage, path: "dcp" }, { storage, path: "hf" }, {
        to: "safetensors",
        adapter: getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf" }),
        hfAssets: { storage, path: "assets" },
        engine: createCpuEngine(),
      });
      expect(report.files).toEqual(
        expect.arrayContaining([
          "hf/config.json",
          "hf/tokenizer.json",
          "hf/tokenizer_config.json",
          "hf/generation_config.json",
        ]),
      );
      const loaded = py("hf_assets.py", "check", join(dir, "hf"));
      expect(loaded).toMatchObject({
        ok: true,
        model_type: "llama",
        ids: [3, 6, 4],
        max_new_tokens: 7,
        eos_token_id: 1,
      });
      const logits = py("llama3_hf.py", "hf-check", join(dir, "hf"), join(dir, "ref.pt"));
      expect(logits, JSON.stringify(logits)).toMatchObject({ ok: true });
    },
    600_000,
  );

  it("keeps the assets' own config.json when there is one", async () => {
    const first = await storage.readAll("hf/config.json");
    await storage.writeAll(
      "assets/config.json",
      new TextEncoder().encode(new TextDecoder().decode(first).replace("{", '{"webdcp_marker": 1,')),
    );
    await convert({ storage, path: "dcp" }, { storage, path: "hf2" }, {
      to: "safetensors",
      adapter: getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf" }),
      hfAssets: { storage, path: "assets" },
      engine: createCpuEngine(),
    });
    expect(new TextDecoder().decode(await storage.readAll("hf2/config.json"))).toContain("webdcp_marker");
    expect(existsSync(join(dir, "hf2", "tokenizer.json"))).toBe(true);
  });
});
