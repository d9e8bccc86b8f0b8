/**
 * The few host services the CLI needs, through `node:process`, which Deno and Node both provide, so the same
 * entry file runs under `deno run` and `node`.
 */
import process from "node:process";

export interface Runtime {
  args: string[];
  /** Writes text to stdout. */
  out(text: string): void;
  /** Writes text to stderr. */
  err(text: string): void;
  /** Whether stderr is an interactive terminal (progress bars are drawn only then). */
  stderrIsTty: boolean;
  /** Terminal width in columns, or 80 when unknown. */
  columns: number;
  exit(code: number): never;
  cwd(): string;
  /** Environment variables (`--part auto` reads the scheduler's); none when absent. */
  env?: Record<string, string | undefined>;
}

export function hostRuntime(): Runtime {
  return {
    args: process.argv.slice(2),
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    stderrIsTty: Boolean(process.stderr.isTTY),
    columns: process.stderr.columns ?? 80,
    exit: (code) => process.exit(code),
    cwd: () => process.cwd(),
    env: process.env,
  };
}
