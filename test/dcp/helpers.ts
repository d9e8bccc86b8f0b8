import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs one of the scripts in test/dcp/py with the pinned interpreter; returns stdout. */
export async function python(
  interpreter: string,
  script: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<string> {
  const { stdout } = await run(interpreter, [join("test/dcp/py", script), ...args], {
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
    env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONWARNINGS: "ignore" },
  });
  return stdout;
}

/** A fresh temporary folder and its cleanup. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `webdcp-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
