/**
 * The few host services the CLI needs, so the same entry file runs under `deno run` and `node`: Deno's own
 * API under Deno, Node's `process` global under Node. Not `node:process` under Deno: loading Deno's Node
 * compatibility layer costs about 15 ms of CPU, most of what `webdcp --help` takes beyond Deno's start.
 */
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

interface DenoHost {
  args: string[];
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean };
  consoleSize(): { columns: number };
  exit(code: number): never;
  cwd(): string;
  env: { toObject(): Record<string, string> };
}

interface NodeProcess {
  argv: string[];
  stdout: { write(text: string): boolean };
  stderr: { write(text: string): boolean; isTTY?: boolean; columns?: number };
  exit(code: number): never;
  cwd(): string;
  env: Record<string, string | undefined>;
}

export function hostRuntime(): Runtime {
  const host = globalThis as unknown as { Deno?: DenoHost; process: NodeProcess };
  return host.Deno ? denoRuntime(host.Deno) : nodeRuntime(host.process);
}

function denoRuntime(deno: DenoHost): Runtime {
  const encoder = new TextEncoder();
  const writeAll = (to: { writeSync(bytes: Uint8Array): number }) => (text: string) => {
    for (let bytes = encoder.encode(text); bytes.length > 0;) bytes = bytes.subarray(to.writeSync(bytes));
  };
  const stderrIsTty = deno.stderr.isTerminal();
  let env: Record<string, string> | undefined;
  try {
    env = deno.env.toObject();
  } catch {
    env = undefined; // no --allow-env: no scheduler variables to read
  }
  return {
    args: deno.args,
    out: writeAll(deno.stdout),
    err: writeAll(deno.stderr),
    stderrIsTty,
    columns: stderrIsTty ? terminalColumns(deno) : 80,
    exit: (code) => deno.exit(code),
    cwd: () => deno.cwd(),
    env,
  };
}

function terminalColumns(deno: DenoHost): number {
  try {
    return deno.consoleSize().columns;
  } catch {
    return 80; // a terminal that reports no size
  }
}

function nodeRuntime(process: NodeProcess): Runtime {
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
