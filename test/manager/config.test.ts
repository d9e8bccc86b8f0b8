import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { WebdcpError } from "../../src/errors/mod.ts";
import { ConfigError, loadConfig, resolveConfig } from "../../src/manager/mod.ts";
import { editDistance, nearestName } from "../../src/manager/nearest_name.ts";

/** Throws a ConfigError whose message names every given fragment. */
function expectConfigError(fn: () => unknown, ...fragments: string[]): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as WebdcpError).code).toBe("E_CONFIG");
  for (const f of fragments) expect((err as Error).message).toContain(f);
  return err as ConfigError;
}

/** The TOML code blocks of TorchTitan's checkpointing guide, in order. */
function guideTomlBlocks(): string[] {
  const text = readFileSync(new URL("../../../shared/docs/torchtitan-checkpointing.md", import.meta.url), "utf8");
  return [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("defaults", () => {
  it("an empty document gives TorchTitan 0.3.0's defaults", () => {
    const { config } = loadConfig();
    expect(config.checkpoint).toEqual({
      enable: false,
      folder: "checkpoint",
      interval: 500,
      initial_load_path: null,
      initial_load_model_only: true,
      initial_load_in_hf: false,
      initial_load_in_hf_quantized: false,
      last_save_model_only: true,
      last_save_in_hf: false,
      export_dtype: "float32",
      keep_latest_k: 10,
      load_step: -1,
      exclude_from_loading: [],
      enable_first_step_checkpoint: false,
      create_seed_checkpoint: false,
      load_only: false,
      async_mode: "disabled",
    });
    expect(config.dumpFolder).toBe("./outputs");
    expect(config.folder).toBe("./outputs/checkpoint");
    expect(config.steps).toBe(10000);
    expect(config.hfAssetsPath).toBe("./tests/assets/tokenizer");
    expect(config.warnings).toEqual([]);
  });

  it("folder is joined onto [job] dump_folder, and an absolute folder wins", () => {
    const toml = `[job]\ndump_folder = "/runs/a"\n[checkpoint]\nfolder = "ckpt"\n`;
    expect(loadConfig({ source: toml }).config.folder).toBe("/runs/a/ckpt");
    expect(loadConfig({ source: toml, args: ["--checkpoint.folder", "/elsewhere/c"] }).config.folder).toBe(
      "/elsewhere/c",
    );
  });

  it("reads [model] hf_assets_path and [training] steps", () => {
    const { config } = loadConfig({
      source: `[model]\nname = "llama3"\nhf_assets_path = "/a/hf"\n[training]\nsteps = 30\nlr = 0.1\n`,
    });
    expect(config.hfAssetsPath).toBe("/a/hf");
    expect(config.steps).toBe(30);
  });
});

describe("the guide's examples", () => {
  it("every TOML block of the guide parses, the full example as written", () => {
    const blocks = guideTomlBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    const full = blocks.find((b) => b.includes("create_seed_checkpoint"))!;
    for (const block of blocks.filter((b) => !b.includes("data_loader"))) loadConfig({ source: block });
    const { config } = loadConfig({ source: full });
    expect(config.checkpoint).toMatchObject({
      enable: true,
      interval: 500,
      load_step: -1,
      last_save_model_only: true,
      export_dtype: "bfloat16",
      async_mode: "async",
      exclude_from_loading: [],
      last_save_in_hf: false,
      initial_load_in_hf: false,
      create_seed_checkpoint: false,
    });
  });

  it("the guide's exclude_from_loading example names a state that does not exist, and the error suggests dataloader", () => {
    const block = guideTomlBlocks().find((b) => b.includes("data_loader"))!;
    const err = expectConfigError(
      () => loadConfig({ source: block }),
      "checkpoint.exclude_from_loading",
      '"data_loader"',
      "did you mean 'dataloader'?",
    );
    expect(err.suggestion).toBe("dataloader");
    expectConfigError(
      () => loadConfig({ args: ["--checkpoint.exclude_from_loading", "data_loader,lr_scheduler"] }),
      "dataloader",
    );
  });

  it("the guide's seed checkpoint command line parses, other tables' switches left to the program", () => {
    const args = [
      "--checkpoint.enable",
      "--checkpoint.create_seed_checkpoint",
      "--parallelism.data_parallel_replicate_degree",
      "1",
    ];
    const { config, rest } = loadConfig({ args });
    expect(config.checkpoint.enable).toBe(true);
    expect(config.checkpoint.create_seed_checkpoint).toBe(true);
    expect(rest).toEqual(["--parallelism.data_parallel_replicate_degree", "1"]);
  });
});

describe("command-line overrides", () => {
  it("--checkpoint.interval 100 and --checkpoint.interval=100", () => {
    expect(loadConfig({ args: ["--checkpoint.interval", "100"] }).config.checkpoint.interval).toBe(100);
    expect(loadConfig({ args: ["--checkpoint.interval=100"] }).config.checkpoint.interval).toBe(100);
  });

  it("a bare switch sets true, its --no- form false, and the command line wins over the file", () => {
    const source = "[checkpoint]\nenable = false\nlast_save_model_only = true\n";
    const { config } = loadConfig({ source, args: ["--checkpoint.enable", "--checkpoint.no-last_save_model_only"] });
    expect(config.checkpoint.enable).toBe(true);
    expect(config.checkpoint.last_save_model_only).toBe(false);
    expect(
      loadConfig({ source: "[checkpoint]\nenable = true\n", args: ["--checkpoint.no-enable"] }).config.checkpoint
        .enable,
    ).toBe(false);
    expect(loadConfig({ args: ["--checkpoint.enable=False"] }).config.checkpoint.enable).toBe(false);
  });

  it("dashes and underscores in key names are the same (tyro writes dashes)", () => {
    const { config } = loadConfig({
      args: ["--checkpoint.keep-latest-k", "3", "--checkpoint.no-last-save-model-only"],
    });
    expect(config.checkpoint.keep_latest_k).toBe(3);
    expect(config.checkpoint.last_save_model_only).toBe(false);
  });

  it("exclude_from_loading takes one comma list", () => {
    const { config } = loadConfig({ args: ["--checkpoint.exclude_from_loading", "dataloader,lr_scheduler"] });
    expect(config.checkpoint.exclude_from_loading).toEqual(["dataloader", "lr_scheduler"]);
  });

  it("--job.dump_folder, --model.hf_assets_path, --training.steps and None for an unset path", () => {
    const { config, rest } = loadConfig({
      source: `[checkpoint]\ninitial_load_path = "/x"\n`,
      args: [
        "--job.dump_folder",
        "/d",
        "--model.hf_assets_path=/hf",
        "--training.steps",
        "7",
        "--checkpoint.initial_load_path",
        "None",
        "--training.lr",
        "3",
      ],
    });
    expect([config.dumpFolder, config.hfAssetsPath, config.steps, config.checkpoint.initial_load_path]).toEqual([
      "/d",
      "/hf",
      7,
      null,
    ]);
    expect(rest).toEqual(["--training.lr", "3"]);
  });

  it("torchtitan 0.3.0's top-level --dump_folder and --hf_assets_path (and keys) work too", () => {
    const { config } = loadConfig({ args: ["--dump_folder", "/out", "--hf_assets_path=/hf"] });
    expect([config.dumpFolder, config.hfAssetsPath, config.folder]).toEqual(["/out", "/hf", "/out/checkpoint"]);
    expect(loadConfig({ source: `dump_folder = "/top"\nhf_assets_path = "/a"\n` }).config.dumpFolder).toBe("/top");
    expect(loadConfig({ source: `dump_folder = "/top"\n[job]\ndump_folder = "/job"\n` }).config.dumpFolder).toBe(
      "/job",
    );
  });

  it("a misspelt key fails with the nearest valid one: --checkpoint.intervall -> interval", () => {
    const err = expectConfigError(
      () => loadConfig({ args: ["--checkpoint.intervall", "5"] }),
      "checkpoint.intervall",
      "did you mean 'interval'?",
    );
    expect(err.suggestion).toBe("interval");
    expectConfigError(() => loadConfig({ args: ["--checkpoint.no-enabel"] }), "did you mean");
    expectConfigError(() => loadConfig({ args: ["--checkpont.interval", "5"] }), "did you mean 'checkpoint.interval'?");
  });

  it("values of the wrong kind fail naming the key, the value and what is allowed", () => {
    expectConfigError(
      () => loadConfig({ args: ["--checkpoint.interval", "ten"] }),
      "checkpoint.interval",
      '"ten"',
      "an integer",
    );
    expectConfigError(
      () => loadConfig({ args: ["--checkpoint.enable=yes"] }),
      "checkpoint.enable",
      '"yes"',
      "true or false",
    );
    expectConfigError(() => loadConfig({ args: ["--checkpoint.interval"] }), "needs a value");
    expectConfigError(() => loadConfig({ args: ["--checkpoint.no-interval"] }), "--no- form");
  });
});

describe("rules", () => {
  const bad = (checkpoint: Record<string, unknown>, ...fragments: string[]) =>
    expectConfigError(() => resolveConfig({ checkpoint }), ...fragments);

  it("an unknown [checkpoint] key in a file is refused with a suggestion", () => {
    const err = expectConfigError(
      () => loadConfig({ source: "[checkpoint]\nasync_mod = 'async'\n" }),
      "checkpoint.async_mod",
      "unknown key",
    );
    expect(err.suggestion).toBe("async_mode");
  });

  it("interval must be at least 1", () => {
    bad({ interval: 0 }, "checkpoint.interval = 0", "at least one step", "an integer >= 1");
    bad({ interval: 2.5 }, "checkpoint.interval = 2.5");
  });

  it("keep_latest_k: 0 keeps all, 1 and negatives are refused with TorchTitan's reasons", () => {
    expect(resolveConfig({ checkpoint: { keep_latest_k: 0 } }).checkpoint.keep_latest_k).toBe(0);
    expect(resolveConfig({ checkpoint: { keep_latest_k: 2 } }).checkpoint.keep_latest_k).toBe(2);
    bad({ keep_latest_k: 1 }, "keep_latest_k = 1", "at least 2 steps must be kept", "may still be being written");
    bad({ keep_latest_k: -3 }, "keep_latest_k = -3", "cannot be negative");
  });

  it("load_step is -1 or a step", () => {
    expect(resolveConfig({ checkpoint: { load_step: 0 } }).checkpoint.load_step).toBe(0);
    bad({ load_step: -2 }, "load_step = -2");
  });

  it("export_dtype and async_mode accept only their values (async_mode in any case)", () => {
    bad({ export_dtype: "int8" }, "checkpoint.export_dtype", '"int8"', "float32, bfloat16, float16");
    bad({ async_mode: "threads" }, "checkpoint.async_mode", "disabled, async, async_with_pinned_mem");
    expect(resolveConfig({ checkpoint: { async_mode: "ASYNC" } }).checkpoint.async_mode).toBe("async");
  });

  it("exclude_from_loading refuses model", () => {
    bad({ exclude_from_loading: ["model"] }, "exclude_from_loading", "the model is always loaded");
    expect(resolveConfig({ checkpoint: { exclude_from_loading: ["my_state"] } }).checkpoint.exclude_from_loading)
      .toEqual(["my_state"]);
  });

  it("last_save_in_hf requires last_save_model_only", () => {
    bad({ last_save_in_hf: true, last_save_model_only: false }, "last_save_in_hf", "last_save_model_only = true");
    expect(resolveConfig({ checkpoint: { last_save_in_hf: true } }).checkpoint.last_save_in_hf).toBe(true);
  });

  it("initial_load_in_hf requires initial_load_model_only", () => {
    bad(
      { initial_load_in_hf: true, initial_load_model_only: false },
      "initial_load_in_hf",
      "initial_load_model_only = true",
    );
  });

  it("initial_load_in_hf_quantized requires initial_load_in_hf and a path", () => {
    bad({ initial_load_in_hf_quantized: true, initial_load_in_hf: true }, "initial_load_in_hf_quantized");
  });

  it("initial_load_path must be absolute or a URI; blanks are trimmed", () => {
    bad({ initial_load_path: "rel/path" }, "initial_load_path", "absolute");
    expect(resolveConfig({ checkpoint: { initial_load_path: " /abs/p " } }).checkpoint.initial_load_path).toBe(
      "/abs/p",
    );
    expect(resolveConfig({ checkpoint: { initial_load_path: "s3://b/k" } }).checkpoint.initial_load_path).toBe(
      "s3://b/k",
    );
  });

  it("folder cannot be empty", () => {
    bad({ folder: "  " }, "checkpoint.folder", "cannot be empty");
  });

  it("values of the wrong type in a file are refused", () => {
    bad({ enable: "yes" }, "checkpoint.enable", "true or false");
    bad({ exclude_from_loading: "dataloader" }, "checkpoint.exclude_from_loading", "a list");
    expectConfigError(() => resolveConfig({ training: { steps: 0 } }), "training.steps", "an integer >= 1");
    expectConfigError(() => resolveConfig({ checkpoint: 3 as never }), "checkpoint", "a table");
  });

  it("settings without effect are warned about, not refused", () => {
    const { config } = loadConfig({
      args: [
        "--checkpoint.load_only",
        "--checkpoint.enable_first_step_checkpoint",
        "--checkpoint.initial_load_model_only",
      ],
    });
    expect(config.warnings).toHaveLength(2);
  });

  it("a TOML syntax error is a ConfigError naming the file", () => {
    expectConfigError(
      () => loadConfig({ source: "[checkpoint\n", path: "train.toml" }),
      "train.toml",
      "not valid TOML",
    );
  });
});

describe("nearestName()", () => {
  it("edit distance counts insertions, deletions and substitutions", () => {
    expect(editDistance("intervall", "interval")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("gives no suggestion for a far-off name", () => {
    expect(nearestName("zzzzzz", ["interval", "enable"])).toBeUndefined();
    expect(nearestName("data_loader", ["dataloader", "model"])).toBe("dataloader");
  });
});
