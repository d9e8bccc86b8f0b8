import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert, reshard } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { at, removeDir, runPython, tempDir } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;

beforeAll(() => {
  dir = tempDir("byte-io");
  runPython("byte_io_values.py", "write", nodePath.join(dir, "src"));
});
afterAll(() => removeDir(dir));

describe("BYTE_IO values TorchTitan writes (tuples, floats, ints, bytes, StatefulDataLoader state)", () => {
  test("survive DCP -> DCP byte for byte and DCP -> .pt as equal Python values, types included", async () => {
    await convert(at(nodePath.join(dir, "src")), at(nodePath.join(dir, "dcp")), { to: "dcp", engine });
    await convert(at(nodePath.join(dir, "src")), at(dir, "out.pt"), { to: "torch", engine });
    const out = runPython(
      "byte_io_values.py",
      "check",
      nodePath.join(dir, "src"),
      nodePath.join(dir, "dcp"),
      nodePath.join(dir, "out.pt"),
    ).trim().split("\n");
    const report = JSON.parse(out[out.length - 1]);
    expect(report, JSON.stringify(report)).toMatchObject({ ok: true, dataloader_resumes: true });
    expect(report.byte_items).toBeGreaterThanOrEqual(12);
  });

  test("survive a reshard to 2 ranks byte for byte", async () => {
    await reshard(at(nodePath.join(dir, "src")), at(nodePath.join(dir, "resharded")), {
      layout: dimSplitLayout(2),
      engine,
    });
    const out = runPython(
      "byte_io_values.py",
      "check",
      nodePath.join(dir, "src"),
      nodePath.join(dir, "resharded"),
      nodePath.join(dir, "out.pt"),
    ).trim().split("\n");
    expect(JSON.parse(out[out.length - 1])).toMatchObject({ ok: true });
  });
});
