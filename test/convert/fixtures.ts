/** Shared helpers of the convert tests: temp folders, local storages and the real-torch scripts. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import * as nodePath from "node:path";
import { inject } from "vitest";
import type { Location } from "../../src/source/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";

const PY_DIR = fileURLToPath(new URL("py/", import.meta.url));

export function tempDir(tag: string): string {
  return fs.mkdtempSync(nodePath.join(os.tmpdir(), `webdcp-${tag}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A location for a folder (the storage root) or, with `file`, a file inside `dir`. */
export function at(dir: string, file = ""): Location {
  fs.mkdirSync(dir, { recursive: true });
  return { storage: new FileStorage(dir), path: file };
}

/** Runs a script of test/convert/py with the pinned interpreter and returns its stdout. */
export function runPython(script: string, ...args: string[]): string {
  return execFileSync(inject("python"), [nodePath.join(PY_DIR, script), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
}

export interface TorchVerdict {
  ok: boolean;
  errors: string[];
  keys: string[];
}

/**
 * `check_load.py`'s verdicts on several outputs in one interpreter (torch takes seconds to import on a
 * shared machine); each check is that script's argument list (see it for the modes).
 */
export function torchLoadsAll(checks: string[][]): TorchVerdict[] {
  const out = runPython("check_load.py", "batch", JSON.stringify(checks)).trim().split("\n");
  return JSON.parse(out[out.length - 1]);
}

/** A 2-rank (or `world`-rank) DCP written by torch's own dcp.save, plus the expected state. */
export function makeTorchDcp(dir: string, world = 2): { ckpt: string; expected: string } {
  const ckpt = nodePath.join(dir, `dcp${world}`);
  const expected = nodePath.join(dir, "expected.pt");
  runPython("make_dcp.py", ckpt, expected, String(world));
  return { ckpt, expected };
}
