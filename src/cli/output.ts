import { WebdcpError } from "../errors/mod.ts";
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

/** The command-line flag of a library option: `dpShard` is `--dp-shard`. */
export function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `code: message (path @ offset)` for webdcp errors; the plain message for anything else. */
export function formatError(e: unknown): string {
  if (e instanceof WebdcpError) {
    const text = e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message;
    const located = e.path !== undefined || e.offset !== undefined ? text.replace(/ \([^()]*\)$/, "") : text;
    const bare = e.option !== undefined && located.startsWith(e.option)
      ? flagOf(e.option) + located.slice(e.option.length)
      : located;
    const loc = e.path !== undefined ? ` (${e.path}${e.offset !== undefined ? ` @ ${e.offset}` : ""})` : "";
    return `${e.code}: ${bare}${loc}`;
  }
  return e instanceof Error ? `error: ${e.message}` : `error: ${String(e)}`;
}

/** A plain-text table with left-aligned columns (right-aligned where `numeric`). */
export function table(headers: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
