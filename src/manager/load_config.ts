/** One call from what a program has (TOML text or a document, its argv) to a validated configuration. */
import { type ConfigDocument, type ManagerConfig, parseConfigToml, resolveConfig } from "./config.ts";
import { applyCliOverrides } from "./cli_overrides.ts";

export interface LoadConfigOptions {
  /** TOML text, or the same tables as an object. */
  source?: string | ConfigDocument;
  /** Command-line arguments; `--checkpoint.*`, `--job.dump_folder`, `--model.hf_assets_path` and `--training.steps` are applied. */
  args?: readonly string[];
  /** Name of the TOML file, for errors. */
  path?: string;
}

export interface LoadedConfig {
  config: ManagerConfig;
  /** The document after overrides (other tables included), for the rest of the program. */
  doc: ConfigDocument;
  /** Arguments that were not the manager's. */
  rest: string[];
}

export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const base = typeof opts.source === "string" ? parseConfigToml(opts.source, opts.path) : opts.source ?? {};
  const { doc, rest } = applyCliOverrides(base, opts.args ?? []);
  return { config: resolveConfig(doc), doc, rest };
}
