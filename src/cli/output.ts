import { escapeName, integerNotation, WebdcpError } from "../errors/mod.ts";
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
    // Everything a command prints is escaped: names from checkpoints may carry terminal escapes. Human text
    // shows them as `\x1b`; JSON as `\u001b` (JSON.stringify leaves DEL and C1 controls such as CSI raw).
    // The progress bar draws its own, name-free, line on the raw stream.
    rt: { ...rt, out: (t) => rt.out(printable(t, json)), err: (t) => rt.err(printable(t, json)) },
    json,
    quiet,
    progress: new ProgressBar(rt.err, rt.stderrIsTty && !quiet && !json, rt.columns),
    say: (line) => {
      if (!quiet) rt.out(`${escapeName(line)}\n`);
    },
    warn: (line) => {
      if (!quiet) rt.err(`warning: ${escapeName(line)}\n`);
    },
  };
}

function printable(text: string, json: boolean): string {
  if (json) return text.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escapeName(text, { keepNewlines: true });
}

/** The command-line flag of a library option: `dpShard` is `--dp-shard`. */
export function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The one form of an error line on stderr, for every command: `error: CODE: message (path @ offset)` for
 * webdcp errors (each part once; a library option named as its flag), `error: message` for anything else;
 * names from checkpoints are escaped.
 */
export function formatError(e: unknown): string {
  if (e instanceof WebdcpError) {
    const detail = e.option !== undefined && e.detail.startsWith(e.option)
      ? flagOf(e.option) + e.detail.slice(e.option.length)
      : e.detail;
    return formatProblem(e.code, detail, e.path, e.offset);
  }
  return escapeName(e instanceof Error ? `error: ${e.message}` : `error: ${String(e)}`);
}

/** `formatError` for a problem a report lists (`verify`) rather than throws. */
export function formatProblem(code: string, detail: string, path?: string, offset?: number): string {
  const loc = path !== undefined ? ` (${path}${offset !== undefined ? ` @ ${offset}` : ""})` : "";
  return escapeName(`error: ${code}: ${integerNotation(detail)}${loc}`);
}

/** A plain-text table with left-aligned columns (right-aligned where `numeric`). */
export function table(headers: string[], cells: string[][], numeric: boolean[] = []): string {
  const rows = cells.map((r) => r.map((c) => escapeName(c)));
  // A loop, not Math.max(...cells): a spread of 130k rows overflows the call stack.
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i].length), h.length));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
