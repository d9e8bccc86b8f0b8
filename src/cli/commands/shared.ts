import type { ConvertReport } from "../../jobs/mod.ts";
import type { Layout } from "../../dcp/mod.ts";
import { DEFAULT_CONCURRENCY } from "../../jobs/mod.ts";
import { dimSplitLayout, parseLayoutJson } from "../../dcp/mod.ts";
import { type AdapterDirection, getAdapter, meshLayout, type StateDictAdapter } from "../../adapters/mod.ts";
import { createLazyEngine, parseEngineKind } from "../../engine/mod.ts";
import type { Engine } from "../../engine/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import type { ParsedArgs } from "../args.ts";
import { intOption } from "../args.ts";
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
                          a half-written file, but a power loss soon after may (PyTorch's sync_files=False)`;

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

/** The engine `--engine` names, created only when a job first needs it (see createLazyEngine). */
export function engineFromArgs(args: ParsedArgs): Engine {
  return createLazyEngine({ kind: parseEngineKind(args.values.get("engine") ?? "auto") });
}

/** What every writing job takes from the command line besides its own options. */
export interface WriteJobCommon {
  engine: Engine;
  concurrency: number | undefined;
  onProgress: CommandContext["progress"]["update"];
  onWarning: (message: string) => void;
}

/** Runs a writing job (convert, reshard) with the engine `--engine` names, then reports it. */
export async function runWriteJob(
  args: ParsedArgs,
  ctx: CommandContext,
  dstPath: string,
  job: (common: WriteJobCommon) => Promise<ConvertReport>,
): Promise<number> {
  const engine = engineFromArgs(args);
  try {
    const report = await job({
      engine,
      concurrency: intOption(args, "concurrency"),
      onProgress: ctx.progress.update,
      onWarning: ctx.warn,
    });
    ctx.progress.finish();
    reportJob(ctx, report, dstPath);
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
