import { integerNotation, WebdcpError } from "../errors/mod.ts";
import type { Runtime } from "./runtime.ts";
import { ProgressBar } from "./progress_bar.ts";

/** What every command gets: the host, the output mode and a progress sink. */
export interface CommandContext {
  rt: Runtime;
  json: boolean;
  quiet: boolean;
  progress: ProgressBar;
  /** Prints a line to stdout unless `--quiet` (data output such as `--json` ignores quiet). */
  say(line: string): void;
  /** Prints a warning to stderr unless `--quiet`. */
  warn(line: string): void;
}

export function makeContext(rt: Runtime, json: boolean, quiet: boolean): CommandContext {
  return {
    rt,
    json,
    quiet,
    progress: new ProgressBar(rt.err, rt.stderrIsTty && !quiet && !json, rt.columns),
    say: (line) => {
      if (!quiet) rt.out(`${line}\n`);
    },
    warn: (line) => {
      if (!quiet) rt.err(`warning: ${line}\n`);
    },
  };
}

/**
 * The one form of an error line on stderr, for every command: `error: CODE: message (path @ offset)` for
 * webdcp errors (each part once), `error: message` for anything else.
 */
export function formatError(e: unknown): string {
  if (e instanceof WebdcpError) return formatProblem(e.code, e.detail, e.path, e.offset);
  return e instanceof Error ? `error: ${e.message}` : `error: ${String(e)}`;
}

/** `formatError` for a problem a report lists (`verify`) rather than throws. */
export function formatProblem(code: string, detail: string, path?: string, offset?: number): string {
  const loc = path !== undefined ? ` (${path}${offset !== undefined ? ` @ ${offset}` : ""})` : "";
  return `error: ${code}: ${integerNotation(detail)}${loc}`;
}

/** A plain-text table with left-aligned columns (right-aligned where `numeric`). */
export function table(headers: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
