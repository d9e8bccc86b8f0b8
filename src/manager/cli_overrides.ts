/**
 * Command-line overrides in TorchTitan's form: `--checkpoint.interval 100` or `--checkpoint.interval=100`,
 * bare `--checkpoint.enable` and `--checkpoint.no-enable` for booleans, one comma list for
 * `--checkpoint.exclude_from_loading dataloader,lr_scheduler`, `None` for an unset path. Dashes and
 * underscores in key names are the same (tyro spells them with dashes). Arguments of other tables are
 * returned untouched for the program's own parser.
 */
import { CHECKPOINT_KEYS, type CheckpointKey, type ConfigDocument, suggestKey } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { nearestName } from "./nearest_name.ts";

type Kind = "bool" | "int" | "string" | "path?" | "list";

const CHECKPOINT_KINDS: Record<CheckpointKey, Kind> = {
  enable: "bool",
  folder: "string",
  interval: "int",
  initial_load_path: "path?",
  initial_load_model_only: "bool",
  initial_load_in_hf: "bool",
  initial_load_in_hf_quantized: "bool",
  last_save_model_only: "bool",
  last_save_in_hf: "bool",
  export_dtype: "string",
  keep_latest_k: "int",
  load_step: "int",
  exclude_from_loading: "list",
  enable_first_step_checkpoint: "bool",
  create_seed_checkpoint: "bool",
  load_only: "bool",
  async_mode: "string",
};

/** Keys of other tables the manager reads from the command line. */
const OTHER_KINDS: Record<string, Record<string, Kind>> = {
  job: { dump_folder: "string" },
  model: { hf_assets_path: "string" },
  training: { steps: "int" },
};

/** The result of `applyCliOverrides`. */
export interface CliOverrides {
  /** The document with the overrides applied (a copy; the input is not changed). */
  doc: ConfigDocument;
  /** Arguments that are not the manager's, in order. */
  rest: string[];
}

/**
 * Applies the manager's arguments of `args` (`--checkpoint.*`, `--job.dump_folder`, `--model.hf_assets_path`,
 * `--training.steps` and the top-level `--dump_folder`, `--hf_assets_path`) to a copy of `doc`. A bad value, an
 * unknown `checkpoint` key or a misspelt table is a `ConfigError`.
 */
export function applyCliOverrides(doc: ConfigDocument, args: readonly string[]): CliOverrides {
  const out: ConfigDocument = structuredClone(doc);
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // torchtitan 0.3.0 spells these two at the top level: --dump_folder, --hf_assets_path.
    const top = /^--(dump[-_]folder|hf[-_]assets[-_]path)(=(.*))?$/s.exec(arg);
    if (top) {
      const value = top[2] !== undefined ? top[3] : args[++i];
      if (value === undefined) throw new ConfigError({ key: top[1], reason: "needs a value" });
      const [table, key] = top[1].startsWith("dump") ? ["job", "dump_folder"] : ["model", "hf_assets_path"];
      ((out[table] ??= {}) as Record<string, unknown>)[key] = value;
      continue;
    }
    const m = /^--([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)(=(.*))?$/s.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const [, section, rawName, hasValue, inline] = m;
    let name = rawName.replaceAll("-", "_");
    const negated = name.startsWith("no_") && !(name in CHECKPOINT_KINDS);
    const kinds = section === "checkpoint" ? CHECKPOINT_KINDS as Record<string, Kind> : OTHER_KINDS[section];
    if (kinds === undefined) {
      const near = nearestName(section, ["checkpoint"]);
      if (near) {
        throw new ConfigError({
          key: `${section}.${rawName}`,
          reason: `unknown table '${section}'`,
          suggestion: `${near}.${rawName}`,
        });
      }
      rest.push(arg);
      continue;
    }
    if (negated && kinds[name.slice(3)] !== undefined) {
      name = name.slice(3);
      if (kinds[name] !== "bool") {
        throw new ConfigError({
          key: `${section}.${rawName}`,
          reason: "only switches (true/false keys) have a --no- form",
        });
      }
    }
    const kind = kinds[name];
    if (kind === undefined) {
      if (section !== "checkpoint") {
        rest.push(arg);
        continue;
      }
      throw new ConfigError({
        key: `checkpoint.${rawName}`,
        reason: "unknown key",
        suggestion: suggestKey(name) ?? nearestName(name, CHECKPOINT_KEYS.map((k) => `no_${k}`)),
      });
    }
    const key = `${section}.${rawName}`;
    let value: unknown;
    if (kind === "bool") {
      if (!hasValue) value = !negated;
      else if (negated) throw new ConfigError({ key, value: inline, reason: "a --no- switch takes no value" });
      else value = parseBool(key, inline);
    } else {
      const text = hasValue ? inline : args[++i];
      if (text === undefined) throw new ConfigError({ key, reason: "needs a value" });
      value = parseValue(key, kind, text);
    }
    const table = (out[section] ??= {}) as Record<string, unknown>;
    table[name] = value;
  }
  return { doc: out, rest };
}

function parseBool(key: string, text: string): boolean {
  const t = text.toLowerCase();
  if (t === "true") return true;
  if (t === "false") return false;
  throw new ConfigError({ key, value: text, allowed: "true or false (or the bare switch / its --no- form)" });
}

function parseValue(key: string, kind: Exclude<Kind, "bool">, text: string): unknown {
  switch (kind) {
    case "int":
      if (!/^[+-]?\d+$/.test(text.trim())) throw new ConfigError({ key, value: text, allowed: "an integer" });
      return Number(text);
    case "list":
      return text === "" ? [] : text.split(",").map((s) => s.trim());
    case "path?":
      return text === "None" ? null : text;
    case "string":
      return text;
  }
}
