/** One call from what a program has (TOML text or a document, its argv) to a validated configuration. */
import { type ConfigDocument, type ManagerConfig, parseConfigToml, resolveConfig } from "./config.ts";
import { applyCliOverrides } from "./cli_overrides.ts";

/** Where `loadConfig` takes the configuration from. */
export interface LoadConfigOptions {
  /** TOML text, or the same tables as an object. */
  source?: string | ConfigDocument;
  /** Command-line arguments; `--checkpoint.*`, `--job.dump_folder`, `--model.hf_assets_path` and `--training.steps` are applied. */
  args?: readonly string[];
  /** Name of the TOML file, for errors. */
  path?: string;
}

/** What `loadConfig` returns. */
export interface LoadedConfig {
  /** The validated configuration. */
  config: ManagerConfig;
  /** The document after overrides (other tables included), for the rest of the program. */
  doc: ConfigDocument;
  /** Arguments that were not the manager's. */
  rest: string[];
}

/**
 * Parses `source` (TOML text or a document; default none, so TorchTitan's defaults), applies the manager's
 * command-line overrides from `args` and validates the result; every mistake is a `ConfigError`.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const base = typeof opts.source === "string" ? parseConfigToml(opts.source, opts.path) : opts.source ?? {};
  const { doc, rest } = applyCliOverrides(base, opts.args ?? []);
  return { config: resolveConfig(doc), doc, rest };
}
