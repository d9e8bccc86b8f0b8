/**
 * The `[checkpoint]` configuration with TorchTitan's keys, defaults and rules (its `CheckpointManager.Config`,
 * 0.3.0), plus the three keys of other tables the manager reads: `[job] dump_folder`, `[model]
 * hf_assets_path` and `[training] steps`. It comes from a TOML document, a plain object with the same tables,
 * and command-line overrides in TorchTitan's form (`cli_overrides.ts`). Every mistake is a `ConfigError`
 * raised here, before a manager touches any storage.
 */
import { parse as parseToml } from "smol-toml";
import * as z from "../schema/mod.ts";
import { ConfigError } from "./config_error.ts";
import { nearestName } from "./nearest_name.ts";

/** The states TorchTitan checkpoints, by their on-disk prefix (`model` keys are stored flat). */
export const STATE_NAMES = ["model", "optimizer", "lr_scheduler", "dataloader", "train_state"] as const;
/** One of TorchTitan's state names. */
export type StateName = typeof STATE_NAMES[number];

/** `checkpoint.async_mode` values: synchronous saves, background saves copying the state, or reusing buffers. */
export const ASYNC_MODES = ["disabled", "async", "async_with_pinned_mem"] as const;
/** One `checkpoint.async_mode` value. */
export type AsyncMode = typeof ASYNC_MODES[number];
/** `checkpoint.export_dtype` values: the dtypes a model-only last save may be cast to. */
export const EXPORT_DTYPES = ["float32", "bfloat16", "float16"] as const;
/** One `checkpoint.export_dtype` value. */
export type ExportDType = typeof EXPORT_DTYPES[number];

/** The resolved `[checkpoint]` table: every key of TorchTitan's `Checkpoint` config, defaults filled in. */
export interface CheckpointConfig {
  /** Checkpointing on or off. */
  enable: boolean;
  /** The checkpoint folder, joined onto `[job] dump_folder` (an absolute path is used as is). */
  folder: string;
  /** Save every `interval` steps (>= 1). */
  interval: number;
  /** A checkpoint to start from when the folder holds no complete step. */
  initial_load_path: string | null;
  /** Load only the model from `initial_load_path`. */
  initial_load_model_only: boolean;
  /** `initial_load_path` is an HF checkpoint (needs model-only). */
  initial_load_in_hf: boolean;
  /** The HF checkpoint is quantized (refused at load). */
  initial_load_in_hf_quantized: boolean;
  /** The last save holds only the model, cast to `export_dtype`. */
  last_save_model_only: boolean;
  /** The last save is HF safetensors (needs model-only). */
  last_save_in_hf: boolean;
  /** Dtype of a model-only last save. */
  export_dtype: ExportDType;
  /** Steps kept (0 keeps all; 1 and negatives are refused). */
  keep_latest_k: number;
  /** The step to load (-1: the newest complete step). */
  load_step: number;
  /** States not loaded (never `model`). */
  exclude_from_loading: string[];
  /** Save after the first step too. */
  enable_first_step_checkpoint: boolean;
  /** Write a seed checkpoint (step 0, model only) and stop. */
  create_seed_checkpoint: boolean;
  /** Load but never save. */
  load_only: boolean;
  /** Synchronous saves, or background saves with fresh or reused staging buffers. */
  async_mode: AsyncMode;
}

/** The `[checkpoint]` keys as a user writes them: any subset, TorchTitan's defaults fill the rest. */
export type CheckpointOptions = {
  [K in keyof CheckpointConfig]?: K extends "async_mode" ? string : CheckpointConfig[K];
};

const integer = () => z.number().check(z.int());
const checkpointSchema: z.ZodMiniType<CheckpointConfig, CheckpointOptions> = z.object({
  enable: z._default(z.boolean(), false),
  folder: z._default(z.string(), "checkpoint"),
  interval: z._default(integer(), 500),
  initial_load_path: z._default(z.nullable(z.string()), null),
  initial_load_model_only: z._default(z.boolean(), true),
  initial_load_in_hf: z._default(z.boolean(), false),
  initial_load_in_hf_quantized: z._default(z.boolean(), false),
  last_save_model_only: z._default(z.boolean(), true),
  last_save_in_hf: z._default(z.boolean(), false),
  export_dtype: z._default(z.enum(EXPORT_DTYPES), "float32"),
  keep_latest_k: z._default(integer(), 10),
  load_step: z._default(integer(), -1),
  exclude_from_loading: z._default(z.array(z.string()), []),
  enable_first_step_checkpoint: z._default(z.boolean(), false),
  create_seed_checkpoint: z._default(z.boolean(), false),
  load_only: z._default(z.boolean(), false),
  // TorchTitan lower-cases the mode before checking it.
  async_mode: z._default(
    z.pipe(z.pipe(z.string(), z.transform((s: string) => s.toLowerCase())), z.enum(ASYNC_MODES)),
    "disabled",
  ),
});

/** A key of the `[checkpoint]` table. */
export type CheckpointKey = keyof CheckpointConfig;

/** What each key accepts, in the words an error shows. */
const ALLOWED: Record<CheckpointKey, string> = {
  enable: "true or false",
  folder: "a non-empty folder name, relative to [job] dump_folder (an absolute path is used as is)",
  interval: "an integer >= 1",
  initial_load_path: "an absolute path or a URI (scheme://...)",
  initial_load_model_only: "true or false",
  initial_load_in_hf: "true or false",
  initial_load_in_hf_quantized: "true or false",
  last_save_model_only: "true or false",
  last_save_in_hf: "true or false",
  export_dtype: EXPORT_DTYPES.join(", "),
  keep_latest_k: "0 (keep every step) or an integer >= 2",
  load_step: "-1 (the newest complete step) or a step number >= 0",
  exclude_from_loading: `a list of state names other than model (${STATE_NAMES.slice(1).join(", ")})`,
  enable_first_step_checkpoint: "true or false",
  create_seed_checkpoint: "true or false",
  load_only: "true or false",
  async_mode: ASYNC_MODES.join(", "),
};

/** Every `[checkpoint]` key, in TorchTitan's order. */
export const CHECKPOINT_KEYS: CheckpointKey[] = Object.keys(ALLOWED) as CheckpointKey[];

/** The keys of other tables the manager reads, with TorchTitan's defaults. */
const OTHER_KEYS = {
  job: { dump_folder: { schema: z.string().check(z.minLength(1)), default: "./outputs", allowed: "a folder path" } },
  model: { hf_assets_path: { schema: z.string(), default: "./tests/assets/tokenizer", allowed: "a folder path" } },
  training: { steps: { schema: integer().check(z.minimum(1)), default: 10000, allowed: "an integer >= 1" } },
} as const;

/** A configuration document: the TOML file's tables as objects (tables other than these are ignored). */
export interface ConfigDocument {
  /** The `[checkpoint]` table; unknown keys are refused. */
  checkpoint?: CheckpointOptions;
  /** torchtitan 0.3.0's spelling of `[job] dump_folder` (the table wins). */
  dump_folder?: string;
  /** torchtitan 0.3.0's spelling of `[model] hf_assets_path` (the table wins). */
  hf_assets_path?: string;
  /** `[job]`: only `dump_folder` is read (default `./outputs`). */
  job?: { dump_folder?: string; [key: string]: unknown };
  /** `[model]`: only `hf_assets_path` is read (default `./tests/assets/tokenizer`). */
  model?: { hf_assets_path?: string; [key: string]: unknown };
  /** `[training]`: only `steps` is read (default 10000). */
  training?: { steps?: number; [key: string]: unknown };
  /** Other tables, ignored. */
  [table: string]: unknown;
}

/** A validated configuration: what a `CheckpointManager` runs on. */
export interface ManagerConfig {
  /** The `[checkpoint]` table, defaults filled in. */
  checkpoint: CheckpointConfig;
  /** `[job] dump_folder`. */
  dumpFolder: string;
  /** `[model] hf_assets_path`: where HF weights load from with `initial_load_in_hf`. */
  hfAssetsPath: string;
  /** `[training] steps`: the number of training steps. */
  steps: number;
  /** `checkpoint.folder` joined onto `dump_folder`; an absolute folder wins (as `os.path.join` does). */
  folder: string;
  /** Settings that are legal but have no effect, as TorchTitan logs them. */
  warnings: string[];
}

/** Parses a TOML document (`smol-toml`); syntax errors become `ConfigError`s naming the line. */
export function parseConfigToml(text: string, path = "config.toml"): ConfigDocument {
  try {
    return parseToml(text) as ConfigDocument;
  } catch (e) {
    throw new ConfigError({ key: path, reason: `not valid TOML: ${(e as Error).message.split("\n")[0]}` });
  }
}

/** Validates a document (from TOML or written as an object) into the manager's configuration. */
export function resolveConfig(doc: ConfigDocument): ManagerConfig {
  if (typeof doc !== "object" || doc === null) {
    throw new ConfigError({ key: "(document)", value: doc, allowed: "a table" });
  }
  const table = (name: string): Record<string, unknown> => {
    const t = doc[name] ?? {};
    if (typeof t !== "object" || t === null || Array.isArray(t)) {
      throw new ConfigError({ key: name, value: t, allowed: "a table" });
    }
    return t as Record<string, unknown>;
  };
  const raw = table("checkpoint");
  for (const key of Object.keys(raw)) {
    if (!(CHECKPOINT_KEYS as string[]).includes(key)) {
      throw new ConfigError({
        key: `checkpoint.${key}`,
        value: raw[key],
        reason: "unknown key",
        suggestion: suggestKey(key),
      });
    }
  }
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0].path[0]) as CheckpointKey;
    throw new ConfigError({ key: `checkpoint.${key}`, value: raw[key], allowed: ALLOWED[key] });
  }
  const checkpoint = parsed.data;
  const other = <T extends keyof typeof OTHER_KEYS>(t: T, key: keyof typeof OTHER_KEYS[T]) => {
    const spec = OTHER_KEYS[t][key] as { schema: z.ZodMiniType; default: unknown; allowed: string };
    // torchtitan 0.3.0 keeps dump_folder and hf_assets_path at the top level; the tables win.
    const v = table(t)[key as string] ?? (t === "training" ? undefined : doc[key as string]);
    if (v === undefined) return spec.default;
    if (!spec.schema.safeParse(v).success) {
      throw new ConfigError({ key: `${t}.${String(key)}`, value: v, allowed: spec.allowed });
    }
    return v;
  };
  const dumpFolder = other("job", "dump_folder") as string;
  const config: ManagerConfig = {
    checkpoint,
    dumpFolder,
    hfAssetsPath: other("model", "hf_assets_path") as string,
    steps: other("training", "steps") as number,
    folder: joinFolder(dumpFolder, checkpoint.folder.trim()),
    warnings: [],
  };
  checkRules(config, raw);
  return config;
}

/** The nearest `[checkpoint]` key to a misspelt one. */
export function suggestKey(key: string): string | undefined {
  return nearestName(key, CHECKPOINT_KEYS);
}

/** TorchTitan's cross-key rules, each one line and one error. */
function checkRules(config: ManagerConfig, given: Record<string, unknown>): void {
  const c = config.checkpoint;
  const fail = (key: CheckpointKey, reason: string) => {
    throw new ConfigError({ key: `checkpoint.${key}`, value: c[key], reason, allowed: ALLOWED[key] });
  };
  if (c.folder.trim() === "") fail("folder", "the folder cannot be empty");
  if (c.interval < 1) fail("interval", "the interval must be at least one step");
  if (c.keep_latest_k < 0) fail("keep_latest_k", "keep_latest_k cannot be negative");
  if (c.keep_latest_k === 1) {
    fail("keep_latest_k", "at least 2 steps must be kept, since the newest one may still be being written");
  }
  if (c.load_step < -1) fail("load_step", "steps are numbered from 0");
  if (c.exclude_from_loading.includes("model")) fail("exclude_from_loading", "the model is always loaded");
  for (const name of c.exclude_from_loading) {
    // Custom states are only known at load time (checked there); a near miss of a standard name is a typo.
    const near = nearestName(name, STATE_NAMES);
    if (near !== undefined && near !== name) {
      throw new ConfigError({
        key: "checkpoint.exclude_from_loading",
        value: name,
        reason: `no state is named '${name}'`,
        allowed: ALLOWED.exclude_from_loading,
        suggestion: near,
      });
    }
  }
  if (c.initial_load_path !== null) {
    c.initial_load_path = c.initial_load_path.trim();
    if (c.initial_load_path !== "" && !isAbsoluteOrUri(c.initial_load_path)) {
      fail("initial_load_path", "the initial load path must be absolute");
    }
    if (c.initial_load_path === "") c.initial_load_path = null;
  }
  if (c.initial_load_in_hf && !c.initial_load_model_only) {
    fail("initial_load_in_hf", "loading from HF safetensors loads only the model: set initial_load_model_only = true");
  }
  if (c.initial_load_in_hf_quantized && !(c.initial_load_in_hf && c.initial_load_path)) {
    fail("initial_load_in_hf_quantized", "a quantized HF load needs initial_load_in_hf and initial_load_path");
  }
  if (c.last_save_in_hf && !c.last_save_model_only) {
    fail("last_save_in_hf", "an HF last save holds only the model: set last_save_model_only = true");
  }
  if (c.load_only && c.enable_first_step_checkpoint) {
    config.warnings.push("checkpoint.load_only is set: enable_first_step_checkpoint has no effect");
  }
  // TorchTitan warns whenever the default (true) meets no path, i.e. on nearly every run; only an explicit
  // setting is worth a warning.
  if ("initial_load_model_only" in given && c.initial_load_model_only && c.initial_load_path === null) {
    config.warnings.push("checkpoint.initial_load_model_only has no effect without checkpoint.initial_load_path");
  }
}

function isAbsoluteOrUri(p: string): boolean {
  return p.startsWith("/") || /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(p);
}

/** `os.path.join(base, folder)`: an absolute folder (or URI) replaces the base. */
function joinFolder(base: string, folder: string): string {
  if (isAbsoluteOrUri(folder) || base === "") return folder;
  return base.endsWith("/") ? base + folder : `${base}/${folder}`;
}
