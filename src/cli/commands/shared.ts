import type { ConvertReport } from "../../jobs/mod.ts";
import type { Layout } from "../../dcp/mod.ts";
import { DEFAULT_CONCURRENCY } from "../../jobs/mod.ts";
import { dimSplitLayout, parseLayoutJson } from "../../dcp/mod.ts";
import { type AdapterDirection, getAdapter, meshLayout, type StateDictAdapter } from "../../adapters/mod.ts";
import { createLazyEngine, parseEngineKind } from "../../engine/mod.ts";
import type { Engine } from "../../engine/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import type { Limits } from "../../limits/mod.ts";
import type { ParsedArgs } from "../args.ts";
import { isRemote } from "../is_remote.ts";
import { intOption, limitsOption } from "../args.ts";
import type { CommandContext } from "../output.ts";
import { formatBytes } from "../progress_bar.ts";

export const LAYOUT_OPTIONS = ["ranks", "dim", "layout", "dp-shard", "tp"];

export const LAYOUT_HELP =
  `  --ranks N               DCP output ranks (one __<r>_0.distcp each), tensors split on --dim (default 0)
  --dim D                 dimension --ranks splits
  --layout FILE           explicit per-rank chunk boxes: {"ranks": N, "tensors": {"<fqn>": [{"rank", "offsets", "sizes"}]}}
  --dp-shard N --tp M     TorchTitan FSDP x TP chunking (colwise dim 0, rowwise dim 1, then FSDP on dim 0)`;

/** The target chunking from --ranks/--dim, --layout, or --dp-shard/--tp (exactly one way). */
export function layoutFromArgs(args: ParsedArgs, layoutText: string | undefined, required = false): Layout | undefined {
  const ranks = intOption(args, "ranks");
  const dim = intOption(args, "dim", 0);
  const dp = intOption(args, "dp-shard");
  const tp = intOption(args, "tp");
  const ways = [ranks !== undefined, layoutText !== undefined, dp !== undefined || tp !== undefined].filter(Boolean);
  if (ways.length > 1) throw new UsageError("E_USAGE", "use only one of --ranks, --layout or --dp-shard/--tp");
  if (dim !== undefined && ranks === undefined) throw new UsageError("E_USAGE", "--dim needs --ranks");
  if (layoutText !== undefined) return parseLayoutJson(layoutText, args.values.get("layout"));
  if (dp !== undefined || tp !== undefined) return meshLayout(dp ?? 1, tp ?? 1);
  if (ranks !== undefined) return dimSplitLayout(ranks, dim ?? 0);
  if (required) throw new UsageError("E_USAGE", "give the target chunking: --ranks, --layout or --dp-shard/--tp");
  return undefined;
}

export const WRITE_HELP = `  --concurrency N         output files written in parallel (default ${DEFAULT_CONCURRENCY})
  --no-fsync              publish files without waiting for the disk: faster, and no other process ever sees
                          a half-written file, but a power loss soon after may (PyTorch's sync_files=False)
  --allow-unsafe-values   dcp output: copy values whose pickles name globals outside the allow-list (torch
                          would run them on load); refused by default, naming the key`;

/** The options of `--part`. */
export const PART_OPTIONS = ["part", "parts"];

/** Help lines of `--part`, for a job that writes `what`. */
export function partHelp(what: string): string {
  return `  --part R/W              write only share R of W of the ${what} (balanced by bytes); then run 'webdcp finalize <dst>'
  --part auto             take R and W from the scheduler: a Slurm array, a Kubernetes Indexed Job (with --parts W)
                          or torchrun (see docs/SCALE-OUT.md)
  --parts W               the number of shares for --part auto (required on Kubernetes)`;
}

/** The model adapter --adapter, --flavor, --to-hf/--from-hf and --keys name (convert and diff alike). */
export function adapterFromArgs(args: ParsedArgs): StateDictAdapter | undefined {
  const name = args.values.get("adapter");
  const toHf = args.flags.has("to-hf");
  const fromHf = args.flags.has("from-hf");
  if (name === undefined) {
    if (toHf || fromHf || args.values.has("flavor")) {
      throw new UsageError("E_USAGE", "--to-hf/--from-hf/--flavor need --adapter");
    }
    return undefined;
  }
  if (toHf === fromHf) throw new UsageError("E_USAGE", "--adapter needs exactly one of --to-hf or --from-hf");
  const flavor = args.values.get("flavor");
  if (flavor === undefined) throw new UsageError("E_USAGE", "--adapter needs --flavor");
  const direction: AdapterDirection = toHf ? "to-hf" : "from-hf";
  return getAdapter(name, { flavor, direction, keys: args.values.get("keys") });
}

/**
 * The engine `--engine` names, created only when a job first needs it (see createLazyEngine). A job on an
 * object store or web server (any of `paths` a URL) casts on the calling thread, without the CPU engine's
 * worker pool: the network bounds such a job, not the cast (one thread casts float32 to bfloat16 at 2-3 GB/s),
 * and handing every band to the workers made a bucket-to-bucket convert ~10% slower on 2 cores (0.5 s more
 * CPU for 1 GiB; bench/RESULTS.md, 2026-12-05).
 */
export function engineFromArgs(args: ParsedArgs, paths: readonly string[]): Engine {
  const kind = parseEngineKind(args.values.get("engine") ?? "auto");
  return createLazyEngine({ kind, workers: paths.some(isRemote) ? 0 : undefined });
}

/** What every writing job takes from the command line besides its own options. */
export interface WriteJobCommon {
  engine: Engine;
  limits: Partial<Limits> | undefined;
  concurrency: number | undefined;
  onProgress: CommandContext["progress"]["update"];
  onWarning: (message: string) => void;
}

/** Runs a writing job (convert, reshard) from `src` to `dst` with the engine `--engine` names, then reports it. */
export async function runWriteJob(
  args: ParsedArgs,
  ctx: CommandContext,
  paths: { src: string; dst: string },
  job: (common: WriteJobCommon) => Promise<ConvertReport>,
): Promise<number> {
  const engine = engineFromArgs(args, [paths.src, paths.dst]);
  try {
    const report = await job({
      engine,
      limits: limitsOption(args),
      concurrency: intOption(args, "concurrency"),
      onProgress: ctx.progress.update,
      onWarning: ctx.warn,
    });
    ctx.progress.finish();
    reportJob(ctx, report, paths.dst);
    return 0;
  } finally {
    engine.dispose();
  }
}

/** Prints a job's report: JSON, or warnings plus one summary line. */
export function reportJob(ctx: CommandContext, report: ConvertReport, dst: string): void {
  if (ctx.json) {
    ctx.rt.out(`${JSON.stringify(report, null, 1)}\n`);
    return;
  }
  if (report.dropped.length > 0) ctx.say(`left out ${report.dropped.length} entries: ${report.dropped.join(", ")}`);
  ctx.say(
    `wrote ${report.tensors} tensors (${formatBytes(report.bytes)}) and ${report.values} values as ${report.to} ` +
      `to ${dst} (${report.files.length} files)`,
  );
}
