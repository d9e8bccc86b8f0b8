import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert } from "../../src/jobs/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { at, removeDir, runPython, tempDir } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;

function check(...args: string[]): Record<string, unknown> {
  const out = runPython("module_metadata.py", "check", ...args).trim().split("\n");
  return JSON.parse(out[out.length - 1]);
}

beforeAll(() => {
  dir = tempDir("module-metadata");
  runPython("module_metadata.py", "write", dir);
});
afterAll(() => removeDir(dir));

describe("a state dict's _metadata (module versions) through .pt -> .pt", () => {
  for (const name of ["zip", "legacy", "nested"]) {
    test(`is kept from the ${name} file, and load_state_dict sees every module's version`, async () => {
      await convert(at(dir, `${name}.pt`), at(dir, `${name}_out.pt`), { to: "torch", engine });
      const args = [nodePath.join(dir, `${name}.pt`), nodePath.join(dir, `${name}_out.pt`)];
      const r = check(...args, ...(name === "nested" ? ["model"] : []));
      expect(r, JSON.stringify(r)).toMatchObject({
        ok: true,
        type: "OrderedDict",
        seen: { "<root>": 5, "block.": 3, "block.lin.": 1, "norm.": 2 },
      });
    });
  }
});
