import { spawn, spawnSync } from "node:child_process";
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const DENO = nodePath.join(ROOT, "node_modules/deno/deno");

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * `deno task webdcp ...` as a user runs it, with `env` added to this process's environment. Asynchronous:
 * the servers the CLI talks to (fault proxy, HTTP server) run in this process and must keep answering.
 */
export function webdcp(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(DENO, ["task", "-q", "webdcp", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code: code ?? -1, out, err })));
}

/** The same, started in the background: the test can signal it while it works (SIGKILL: no cleanup runs). */
export function webdcpBackground(
  args: string[],
  env: Record<string, string>,
): { kill(signal?: NodeJS.Signals): Promise<CliResult>; done: Promise<CliResult> } {
  // `deno task` runs the CLI in a child of its own; start that child directly so the kill reaches it.
  const child = spawn(DENO, ["run", "-A", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<CliResult>((resolve) =>
    child.once("exit", (code) => resolve({ code: code ?? -1, out, err }))
  );
  return {
    done,
    kill: (signal = "SIGKILL") => {
      child.kill(signal);
      return done;
    },
  };
}

/** Runs a Python script of the suite; its last stdout line is JSON. */
export function python(py: string, script: string, args: string[], env: Record<string, string>): unknown {
  const r = spawnSync(py, [nodePath.join(ROOT, "test/storage/s3/py", script), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr.slice(-3000)}`);
  const lines = r.stdout.trim().split("\n");
  return lines.length > 0 && lines.at(-1)!.startsWith("{") ? JSON.parse(lines.at(-1)!) : undefined;
}
