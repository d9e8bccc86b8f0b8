import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliRun, runCliIn } from "./in_process.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { FormatError } from "../../src/errors/mod.ts";
import { PyGlobal, PyReduce, tuple } from "../../src/pickle/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import { runPython } from "../convert/fixtures.ts";
import { buildArchive } from "../torch/build_archive.ts";

let dir: string;

function cli(args: string[]): Promise<CliRun> {
  return runCliIn(dir, args);
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-messages-"));
  const w = makeTensor("float32", [2, 2]);
  await saveStateDict(new FileStorage(dir), "ckpt", { model: { w } });
  // A tensor rebuild with too few arguments: the handler's error is wrapped with the opcode's location.
  const pickle = new Map([["w", new PyReduce(new PyGlobal("torch._utils", "_rebuild_tensor_v2"), tuple(1, 2))]]);
  fs.writeFileSync(nodePath.join(dir, "bad_rebuild.pt"), await buildArchive({ pickle }));
  // A tensor of 2**40 x 2**42 elements in .metadata: JavaScript would print that count as 4.8e+24.
  runPython("huge_metadata.py", nodePath.join(dir, "huge"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("webdcp CLI messages", () => {
  test('inspect --json reports the path it inspected for a folder (not "") and for a file', async () => {
    const folder = await cli(["inspect", "ckpt", "--json"]);
    expect(folder.code, folder.err).toBe(0);
    expect(JSON.parse(folder.out)).toMatchObject({ format: "dcp", path: "ckpt" });
    const file = await cli(["inspect", "bad_rebuild.pt", "--json"]);
    expect(file.code).toBe(1);
  });

  test("inspect and verify print one error line on stderr: error: CODE: message (file @ offset), each part once", async () => {
    for (
      const args of [["inspect", "bad_rebuild.pt"], ["verify", "bad_rebuild.pt"], [
        "convert",
        "bad_rebuild.pt",
        "o.pt",
        "--to",
        "torch",
      ]]
    ) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(1);
      const lines = r.err.trimEnd().split("\n");
      expect(lines[0], args.join(" ")).toMatch(/^error: E_TORCH_ARCHIVE: .+ \(bad_rebuild\.pt @ \d+\)$/);
      expect(count(lines[0], "E_TORCH_ARCHIVE"), lines[0]).toBe(1);
      expect(count(lines[0], "bad_rebuild.pt"), lines[0]).toBe(1);
      expect(r.out).not.toContain("E_TORCH_ARCHIVE");
    }
  });

  test("verify --json lists each problem's message without its code or location repeated", async () => {
    const r = await cli(["verify", "bad_rebuild.pt", "--json"]);
    const [problem] = JSON.parse(r.out).problems;
    expect(problem.code).toBe("E_TORCH_ARCHIVE");
    expect(problem.message).not.toMatch(/E_TORCH_ARCHIVE|bad_rebuild\.pt|offset/);
    expect(problem).toMatchObject({ path: "bad_rebuild.pt", offset: expect.any(Number) });
  });

  test("an unknown command and a usage error use the same form", async () => {
    expect((await cli(["frobnicate"])).err).toMatch(/^error: E_USAGE: unknown command 'frobnicate'\n/);
    expect((await cli(["inspect"])).err).toMatch(/^error: E_USAGE: /);
  });

  test("huge numbers are printed as integers, never in exponent notation", async () => {
    for (const json of [false, true]) {
      const r = await cli(["verify", "huge", ...(json ? ["--json"] : [])]);
      expect(r.code).toBe(1);
      expect(r.err + r.out).toContain("4835703278458516698824704");
      expect(r.err + r.out).not.toMatch(/\de\+\d/);
    }
  });

  test("WebdcpError.detail is the message alone; the integer form applies to every error", () => {
    const e = new FormatError("E_SHAPE", `needs ${2 ** 80} bytes`, { path: "p", offset: 3 });
    expect(e.detail).toBe("needs 1208925819614629174706176 bytes");
    expect(e.message).toBe("E_SHAPE: needs 1208925819614629174706176 bytes (p @ offset 3)");
  });
});
