import { UsageError } from "../errors/mod.ts";
import { DEFAULT_LIMITS, type Limits, resolveLimits } from "../limits/mod.ts";
import type { Part } from "../writers/mod.ts";
import { partFromEnv } from "./part_auto.ts";

/** How one command's options are declared: names map to whether they take a value. */
export interface OptionSpec {
  /** Options that take a value (`--ranks 4` or `--ranks=4`). */
  values?: readonly string[];
  /** Boolean switches (`--dry-run`). */
  flags?: readonly string[];
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

/** Switches every command accepts. */
export const COMMON_FLAGS = ["help", "json", "quiet", "follow-symlinks"] as const;

/** Options with a value every command accepts. */
export const COMMON_VALUES = ["limits"] as const;

/** Parses argv strictly: an unknown option or a missing value is a usage error (exit code 2). */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const values = new Set([...(spec.values ?? []), ...COMMON_VALUES]);
  const flags = new Set<string>([...(spec.flags ?? []), ...COMMON_FLAGS]);
  const out: ParsedArgs = { positionals: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg === "-h") out.flags.add("help");
      else out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (values.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError("E_USAGE", `option --${name} needs a value`);
      out.values.set(name, value);
    } else if (flags.has(name)) {
      if (eq >= 0) throw new UsageError("E_USAGE", `option --${name} takes no value`);
      out.flags.add(name);
    } else {
      throw new UsageError("E_USAGE", `unknown option --${name}`);
    }
  }
  return out;
}

/** Reads a positive (or non-negative with `min: 0`) integer option. */
export function intOption(args: ParsedArgs, name: string, min = 1): number | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError("E_USAGE", `--${name} must be an integer >= ${min}, got '${raw}'`);
  }
  return n;
}

/** `--limits maxTensors=2000000,maxDepth=4000`: overrides of the limits on untrusted input. */
export function limitsOption(args: ParsedArgs): Partial<Limits> | undefined {
  const raw = listOption(args, "limits");
  if (raw === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const item of raw) {
    const [name, value] = item.split("=");
    if (!Object.hasOwn(DEFAULT_LIMITS, name) || value === undefined) {
      throw new UsageError(
        "E_USAGE",
        `--limits takes NAME=VALUE items with NAME one of ${Object.keys(DEFAULT_LIMITS).join(", ")}; got '${item}'`,
      );
    }
    out[name] = Number(value);
  }
  return resolveLimits(out);
}

/** Splits a comma-separated list option (`--exclude a,b`), dropping empty items. */
export function listOption(args: ParsedArgs, name: string): string[] | undefined {
  const raw = args.values.get(name);
  if (raw === undefined) return undefined;
  return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Exactly `n` positionals, named in the message when they are missing. */
export function requirePositionals(args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length !== names.length) {
    throw new UsageError(
      "E_USAGE",
      `expected ${names.map((n) => `<${n}>`).join(" ")}, got ${args.positionals.length} argument(s)`,
    );
  }
  return args.positionals;
}

/** `--part r/w`: this machine writes the output files whose index i has i % w === r. */
export function parsePart(text: string): Part {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new UsageError("E_USAGE", `--part must be r/w with 0 <= r < w (e.g. 0/4), got '${text}'`);
  }
  return { index, count };
}

/**
 * `--part R/W`, or `--part auto` with the share taken from the scheduler's environment (`--parts W` where
 * the scheduler does not say how many), when given.
 */
export function partOption(args: ParsedArgs, env: Record<string, string | undefined> = {}): Part | undefined {
  const text = args.values.get("part");
  const parts = intOption(args, "parts");
  if (text === undefined || text.trim() !== "auto") {
    if (parts !== undefined) throw new UsageError("E_USAGE", "--parts goes with --part auto");
    return text === undefined ? undefined : parsePart(text);
  }
  return partFromEnv(env, parts);
}
