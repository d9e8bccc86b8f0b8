import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type CliRun, runCliIn } from "./in_process.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;

/** Runs the CLI in this (Node) process with captured output. */
function cli(args: string[], tty = false): Promise<CliRun> {
  return runCliIn(dir, args, tty);
}

/** Runs `deno task webdcp ...` as a user would (the deno binary from node_modules, node_modules/.bin off PATH). */
function denoTask(args: string[]): { code: number; out: string; err: string } {
  const path = (process.env.PATH ?? "").split(nodePath.delimiter).filter((p) =>
    !p.endsWith(nodePath.join("node_modules", ".bin"))
  );
  const r = spawnSync(nodePath.join(ROOT, "node_modules/deno/deno"), ["task", "-q", "webdcp", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PATH: path.join(nodePath.delimiter), NO_COLOR: "1" },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-cli-"));
  const w = makeTensor("float32", [4, 3], new Uint8Array(new Float32Array(12).map((_, i) => i / 3).buffer));
  const n = makeTensor("bfloat16", [3], Uint8Array.of(0x80, 0x3f, 0x00, 0x40, 0x40, 0x40));
  await saveStateDict(new FileStorage(dir), "ckpt", { model: { w, n }, train_state: { step: 9 } }, { ranks: 2 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("webdcp CLI (in-process, Node)", () => {
  test("--help lists every command; no command at all is a usage error", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["inspect", "convert", "reshard", "verify", "diff", "finalize"]) expect(help.out).toContain(c);
    expect((await cli([])).code).toBe(2);
  });

  test("each command answers --help with its usage", async () => {
    for (const c of ["inspect", "convert", "reshard", "verify", "diff", "finalize"]) {
      const r = await cli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(new RegExp(`^usage: webdcp ${c} `));
    }
  });

  test("inspect --json gives the table's content as data", async () => {
    const r = await cli(["inspect", "ckpt", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.format).toBe("dcp");
    expect(report.tensors.map((t: { name: string }) => t.name)).toEqual(["model.w", "model.n"]);
    expect(report.tensors[0]).toMatchObject({ dtype: "float32", shape: [4, 3], chunks: 2, bytes: 48 });
    expect(report.values).toEqual([{ name: "train_state.step", bytes: expect.any(Number) }]);
  });

  test("inspect prints a table with dtype in torch's names, shapes, chunks and totals", async () => {
    const r = await cli(["inspect", "ckpt"]);
    expect(r.out).toMatch(/model\.n\s+bfloat16\s+\[3\]\s+2/);
    expect(r.out).toMatch(/total: 2 tensors \(15 elements/);
  });

  test("convert --model-only unwraps the model. prefix; diff then reports the bf16 cast", async () => {
    const c = await cli([
      "convert",
      "ckpt",
      "bf16.safetensors",
      "--to",
      "safetensors",
      "--model-only",
      "--dtype",
      "bfloat16",
      "--engine",
      "cpu",
    ]);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/wrote 2 tensors/);
    const i = JSON.parse((await cli(["inspect", "bf16.safetensors", "--json"])).out);
    expect(i.tensors.map((t: { name: string }) => t.name).sort()).toEqual(["n", "w"]);
    const d = await cli(["diff", "bf16.safetensors", "bf16.safetensors", "--json"]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).identical).toBe(true);
  });

  test("reshard --dry-run --json prints the plan; --save-layout writes a layout that --layout reads back", async () => {
    const plan = await cli([
      "reshard",
      "ckpt",
      "--dp-shard",
      "1",
      "--tp",
      "2",
      "--dry-run",
      "--json",
      "--save-layout",
      "l.json",
    ]);
    expect(plan.code, plan.err).toBe(0);
    expect(JSON.parse(plan.out)).toMatchObject({ ranks: 2, totalBytes: 54 });
    expect(fs.existsSync(nodePath.join(dir, "r2"))).toBe(false);
    const r = await cli(["reshard", "ckpt", "r2", "--layout", "l.json", "--engine", "cpu", "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).files).toEqual(["__0_0.distcp", "__1_0.distcp", ".metadata"]);
    expect((await cli(["diff", "ckpt", "r2"])).out).toMatch(/identical\n$/);
  });

  test("--save-layout onto the source file is a usage error and leaves the source whole", async () => {
    const made = await cli(["convert", "ckpt", "whole.safetensors", "--to", "safetensors", "--engine", "cpu"]);
    expect(made.code, made.err).toBe(0);
    const before = fs.readFileSync(nodePath.join(dir, "whole.safetensors"));
    const r = await cli([
      "reshard",
      "whole.safetensors",
      "--ranks",
      "2",
      "--dry-run",
      "--save-layout",
      "whole.safetensors",
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("E_USAGE: the output is the input");
    expect(fs.readFileSync(nodePath.join(dir, "whole.safetensors")).equals(before)).toBe(true);
  });

  test("the progress bar shows bytes, rate and ETA on a terminal and stays off otherwise", async () => {
    const tty = await cli(["convert", "ckpt", "a.pt", "--to", "torch", "--engine", "cpu"], true);
    expect(tty.err).toMatch(/\r\[#+\]\s+100\.0% 54 B\/54 B .*\/s ETA/);
    const plain = await cli(["convert", "ckpt", "b.pt", "--to", "torch", "--engine", "cpu"], false);
    expect(plain.err).not.toContain("\r");
    const quiet = await cli(["convert", "ckpt", "c.pt", "--to", "torch", "--engine", "cpu", "--quiet"], true);
    expect(quiet.err + quiet.out).toBe("");
  });
});

describe("webdcp CLI (in-process, adversarial)", () => {
  test("an unknown option or a missing value is exit 2 with E_USAGE on stderr", async () => {
    const r = await cli(["inspect", "ckpt", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: E_USAGE: unknown option --bogus/);
    expect((await cli(["convert", "ckpt", "x", "--to"])).code).toBe(2);
    expect((await cli(["convert", "ckpt", "x", "--to", "onnx"])).code).toBe(2);
    expect((await cli(["reshard", "ckpt", "x"])).err).toMatch(/--ranks, --layout or --dp-shard/);
  });

  test("an output that is the input (also through a symbolic link) is refused with exit 2 and nothing changes", async () => {
    const before = fs.readdirSync(nodePath.join(dir, "ckpt")).map((
      f,
    ) => [f, fs.statSync(nodePath.join(dir, "ckpt", f)).mtimeMs]);
    fs.symlinkSync(nodePath.join(dir, "ckpt"), nodePath.join(dir, "ckpt-link"));
    for (
      const args of [["reshard", "ckpt", "ckpt/", "--ranks", "1"], ["convert", "ckpt", "ckpt-link", "--to", "dcp"]]
    ) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^error: E_USAGE: the output is the input: .+ \(ckpt(\/|-link)\)\n/);
    }
    const after = fs.readdirSync(nodePath.join(dir, "ckpt")).map((
      f,
    ) => [f, fs.statSync(nodePath.join(dir, "ckpt", f)).mtimeMs]);
    expect(after).toEqual(before);
  });

  test("a missing input is exit 1 with code: message (path)", async () => {
    const r = await cli(["inspect", "nowhere"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("error: E_NOT_FOUND: no such file or folder (nowhere)\n");
  });

  test("errors from bad bytes print code: message (path @ offset)", async () => {
    fs.writeFileSync(
      nodePath.join(dir, "bad.safetensors"),
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    );
    const r = await cli(["inspect", "bad.safetensors"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: E_[A-Z_]+: .+ \(bad\.safetensors @ \d+\)\n$/);
  });
});

describe("webdcp CLI (deno task webdcp)", () => {
  test("prints help and inspects --json", () => {
    const help = denoTask(["--help"]);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toContain("usage: webdcp <command>");
    const r = denoTask(["inspect", nodePath.join(dir, "ckpt"), "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).tensors).toHaveLength(2);
  });

  test("verify exits 0 when sound, 1 with the problem listed when a file is truncated, 2 on usage errors", () => {
    const copy = nodePath.join(dir, "broken");
    fs.cpSync(nodePath.join(dir, "ckpt"), copy, { recursive: true });
    expect(denoTask(["verify", copy]).code).toBe(0);
    const file = nodePath.join(copy, "__1_0.distcp");
    fs.truncateSync(file, fs.statSync(file).size - 1);
    const broken = denoTask(["verify", copy]);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/^error: E_OUT_OF_RANGE: .* \(__1_0\.distcp @ \d+\)$/m);
    expect(denoTask(["verify"]).code).toBe(2);
    expect(denoTask(["verify", copy, "--deeep"]).code).toBe(2);
  });
});
