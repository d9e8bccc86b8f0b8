import { runCli } from "../../src/cli/main.ts";
import type { Runtime } from "../../src/cli/runtime.ts";

/** What one in-process CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in this (Node) process in the folder `cwd`, its output captured; `tty` makes stderr a terminal. */
export async function runCliIn(cwd: string, args: string[], tty = false): Promise<CliRun> {
  let out = "";
  let err = "";
  const rt: Runtime = {
    args,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stderrIsTty: tty,
    columns: 100,
    exit: (c) => {
      throw new Error(`exit ${c}`);
    },
    cwd: () => cwd,
  };
  return { code: await runCli(rt), out, err };
}
