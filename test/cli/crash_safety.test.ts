/**
 * Crash safety of the CLI's writers, as a user meets it: `reshard` and `convert --to dcp` run as separate
 * processes (Deno) and are SIGKILLed at random moments. Whatever a kill leaves, a `.metadata` never points
 * at incomplete files, and a rerun into the same destination succeeds and leaves no temp file behind. A
 * run into a full disk (a small tmpfs) fails and publishes nothing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { verify } from "../../src/jobs/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO = nodePath.join(ROOT, "node_modules/deno/deno");
const TRIALS = Number(process.env.CRASH_TRIALS) || 20;
const TEMP = /\.tmp-[0-9a-f]{16}$/;

let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-crash-"));
  // 16 MiB in 4 tensors over 2 ranks: long enough for kills to land mid-write.
  const tensor = (seed: number) => {
    const data = new Float32Array(1 << 20).map((_, i) => (i * 7 + seed) % 1009);
    return makeTensor("float32", [1024, 1024], new Uint8Array(data.buffer));
  };
  await saveStateDict(new FileStorage(dir), "src", {
    model: { a: tensor(1), b: tensor(2), c: tensor(3), d: tensor(4) },
    step: 7,
  }, { ranks: 2 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function spawnCli(args: string[]): ChildProcess {
  return spawn(DENO, ["run", "-A", "src/cli/main.ts", ...args, "--quiet"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
}

function start(args: string[]): ChildProcess {
  // --no-fsync: a SIGKILL ends the process, not the kernel, so published files are whole either way.
  return spawnCli([...args, "--no-fsync"]);
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: string | null; err: string }> {
  let err = "";
  child.stderr?.on("data", (d) => void (err += d));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, err })));
}

/** Every item `.metadata` names lies whole in its file, and the checkpoint verifies (no `.metadata`: nothing claimed). */
async function checkPublished(out: string): Promise<boolean> {
  const storage = new FileStorage(nodePath.join(dir, out));
  if (!(await storage.stat(".metadata"))) return false;
  const report = await verify({ storage, path: "" });
  expect(report.problems).toEqual([]);
  return true;
}

/** A small deterministic generator, so a failing trial can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

for (
  const [label, args] of [
    ["reshard", ["reshard", "src", "OUT", "--ranks", "3"]],
    ["convert --to dcp", ["convert", "src", "OUT", "--to", "dcp"]],
  ] as const
) {
  describe(`${label} killed at random moments`, () => {
    it(
      `${TRIALS} SIGKILLs never leave a .metadata over incomplete files, and a rerun succeeds with no temp files left`,
      async () => {
        const out = `${label.replace(/\W+/g, "-")}-out`;
        const argv = (o: string) =>
          args.map((a) => (a === "OUT" ? nodePath.join(dir, o) : a === "src" ? nodePath.join(dir, "src") : a));
        // An undisturbed run measures how long a run lasts here, so kills spread over its whole life.
        const t0 = performance.now();
        const clean = await finished(start(argv(`${out}-clean`)));
        expect(clean).toMatchObject({ code: 0 });
        const lasts = performance.now() - t0;
        const next = random(label.length * 7919);
        let published = 0;
        for (let trial = 0; trial < TRIALS; trial++) {
          // Odd trials start from an empty destination, even ones over the previous rerun's checkpoint.
          if (trial % 2 === 1) fs.rmSync(nodePath.join(dir, out), { recursive: true, force: true });
          const child = start(argv(out));
          const done = finished(child);
          await new Promise((r) => setTimeout(r, next() * lasts));
          child.kill("SIGKILL");
          await done;
          if (await checkPublished(out)) published++;
          const rerun = await finished(start(argv(out)));
          expect(rerun.code, rerun.err).toBe(0);
          expect(await checkPublished(out)).toBe(true);
          expect(fs.readdirSync(nodePath.join(dir, out)).filter((n) => TEMP.test(n))).toEqual([]);
        }
        // Both outcomes should occur across trials; this only reports, as the timing is the machine's.
        console.info(`${label}: ${published}/${TRIALS} kills left a published checkpoint (whole, verified)`);
      },
      600_000,
    ); // 40 process runs: minutes on a loaded machine
  });
}

describe("a destination that fills up", () => {
  /** Runs `fn` on an 8 MiB tmpfs mounted at `name` (skipped where mounting is not permitted). */
  async function onFullTmpfs(ctx: TestContext, name: string, fn: (mnt: string) => Promise<void>): Promise<void> {
    const mnt = nodePath.join(dir, name);
    fs.mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt], { stdio: "pipe" });
    } catch (e) {
      ctx.skip(`mounting a tmpfs is not permitted here (${(e as Error).message.split("\n")[0]})`);
      return;
    }
    try {
      await fn(mnt);
    } finally {
      execFileSync("umount", [mnt]);
    }
  }

  /** Nothing published and no temp file left in `folder`. */
  function nothingPublished(folder: string): void {
    const left = fs.existsSync(folder) ? fs.readdirSync(folder) : [];
    expect(left.filter((n) => n === ".metadata" || TEMP.test(n))).toEqual([]);
  }

  it("reshard into an 8 MiB tmpfs fails and publishes nothing", (ctx) =>
    onFullTmpfs(ctx, "full", async (mnt) => {
      const run = await finished(
        start(["reshard", nodePath.join(dir, "src"), nodePath.join(mnt, "out"), "--ranks", "2"]),
      );
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/E_IO: ENOSPC/);
      nothingPublished(nodePath.join(mnt, "out"));
    }));

  it("a seed written with direct I/O into an 8 MiB tmpfs fails with ENOSPC and publishes nothing", (ctx) =>
    onFullTmpfs(ctx, "full-seed", async (mnt) => {
      // The debugmodel's float32 seed is ~26 MB: the refused direct write is made again through the page
      // cache, which reports the real error.
      const out = nodePath.join(mnt, "seed");
      const run = await finished(spawnCli(["seed", "--model", "llama3", "--flavor", "debugmodel", "--out", out]));
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/E_IO: ENOSPC/);
      nothingPublished(nodePath.join(out, "step-0"));
    }));
});
