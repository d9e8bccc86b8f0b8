import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getAdapter, LLAMA3_FLAVORS, LLAMA3_KEY_GENERATIONS, llama3Parameters } from "../../src/adapters/mod.ts";

interface HfView {
  shapes: Record<string, number[]>;
  tie_word_embeddings: boolean;
  rope_type: string;
  rope_gap: number;
  dtype: string;
}

const FLAVORS = ["debugmodel", "1B", "3B", "8B", "70B", "405B"];

describe("config.json for each llama3 flavor, read by transformers", () => {
  let dir: string;
  let views: Record<string, HfView>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-llama3-config-"));
    const args = FLAVORS.map((flavor) => {
      const folder = join(dir, flavor);
      mkdirSync(folder);
      for (const file of getAdapter("llama3", { flavor, direction: "to-hf" }).extraFiles({ dtype: "bfloat16" })) {
        writeFileSync(join(folder, file.path), file.bytes);
      }
      return `${flavor}=${folder}`;
    });
    const out = execFileSync(inject("python"), ["test/interop/py/llama3_hf_config.py", ...args], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      stdio: ["ignore", "pipe", "pipe"],
    });
    views = JSON.parse(out);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("LlamaForCausalLM built from it has exactly the names and shapes the to-hf plan writes", () => {
    for (const flavor of FLAVORS) {
      const f = LLAMA3_FLAVORS[flavor];
      const planned = llama3Parameters(f, LLAMA3_KEY_GENERATIONS.head).map((p) => [p.hf, p.shape]);
      expect(views[flavor].shapes, flavor).toEqual(Object.fromEntries(planned));
      expect(views[flavor].tie_word_embeddings, flavor).toBe(f.weightTying);
      expect(views[flavor].dtype, flavor).toBe("torch.bfloat16");
    }
  });

  it("HF's llama3 RoPE equals TorchTitan's RoPE cache up to position 131071", () => {
    for (const flavor of FLAVORS) {
      expect(views[flavor].rope_type, flavor).toBe("llama3");
      expect(views[flavor].rope_gap, flavor).toBeLessThan(1e-5);
    }
  });
});
