import { ADAPTER_NAMES } from "../../adapters/mod.ts";
import { convert } from "../../jobs/mod.ts";
import { parseByteSize } from "../byte_size.ts";
import type { TargetFormat } from "../../jobs/mod.ts";
import { CONVERT_TARGETS, parseDType } from "../../dtype/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import type { ParsedArgs } from "../args.ts";
import { listOption, partOption, requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput, locateOutput } from "../locate.ts";
import {
  adapterFromArgs,
  LAYOUT_HELP,
  LAYOUT_OPTIONS,
  layoutFromArgs,
  PART_OPTIONS,
  partHelp,
  runWriteJob,
  WRITE_HELP,
} from "./shared.ts";

export const convertCommand = defineCommand({
  help: `usage: webdcp convert <src> <dst> --to dcp|safetensors|torch [options]

The source format is detected (DCP folder, HF folder, .safetensors, .pt/.pth/.bin). A <dst> ending in
.safetensors is one file; otherwise safetensors output is a folder of shards with model.safetensors.index.json.

  --to FORMAT             dcp | safetensors | torch (required)
  --dtype DTYPE           cast floating tensors: ${CONVERT_TARGETS.join(" | ")}
  --model-only            drop optimizer, lr_scheduler, dataloader, train_state; unwrap a 'model.' prefix
  --include GLOBS         keep only keys matching these comma-separated globs (* within a segment, ** across)
  --exclude GLOBS         drop keys matching these globs (a plain name drops its whole group)
  --max-shard-size SIZE   safetensors shard limit, e.g. 5GB
  --adapter NAME          model mapping (${ADAPTER_NAMES.join(", ")}) with --flavor and --to-hf or --from-hf
  --flavor NAME           model flavor (llama3: debugmodel, 1B, 3B, 8B, 70B, 405B)
  --to-hf / --from-hf     direction of the adapter mapping
  --keys classic|head     TorchTitan key generation (output/attention.wq vs lm_head/qkv_linear)
  --hf-assets-path DIR    copy config/tokenizer files and the shard plan of an existing HF folder
${LAYOUT_HELP}
${partHelp("output files")}
${WRITE_HELP}
  --engine auto|gpu|cpu   where casts run (default auto)
${COMMON_HELP}`,
  options: {
    values: [
      "to",
      "dtype",
      "include",
      "exclude",
      "max-shard-size",
      "adapter",
      "flavor",
      "keys",
      "hf-assets-path",
      ...PART_OPTIONS,
      "concurrency",
      "engine",
      ...LAYOUT_OPTIONS,
    ],
    flags: ["model-only", "to-hf", "from-hf", "no-fsync", "allow-unsafe-values"],
  },
  async run(args, ctx) {
    const [srcPath, dstPath] = requirePositionals(args, ["src", "dst"]);
    const to = args.values.get("to");
    if (to !== "dcp" && to !== "safetensors" && to !== "torch") {
      throw new UsageError("E_USAGE", "--to must be dcp, safetensors or torch");
    }
    const rawDtype = args.values.get("dtype");
    const dtype = rawDtype === undefined ? undefined : parseDType(rawDtype);
    const adapter = adapterFromArgs(args);
    const maxShard = args.values.get("max-shard-size");
    const part = partOption(args, ctx.rt.env);
    const layout = to === "dcp" ? layoutFromArgs(args, await readLayoutText(args, ctx.rt.cwd())) : undefined;
    if (to !== "dcp" && LAYOUT_OPTIONS.some((o) => args.values.has(o))) {
      throw new UsageError("E_USAGE", "--ranks/--dim/--layout/--dp-shard/--tp apply to --to dcp only");
    }
    const src = await locateInput(srcPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const hfAssetsPath = args.values.get("hf-assets-path");
    const hfAssets = hfAssetsPath === undefined
      ? undefined
      : await locateInput(hfAssetsPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const singleFile = (to === "safetensors" && dstPath.endsWith(".safetensors")) || to === "torch";
    const dst = await locateOutput(dstPath, ctx.rt.cwd(), singleFile, {
      fsync: !args.flags.has("no-fsync"),
      input: srcPath,
    });
    return await runWriteJob(args, ctx, { src: srcPath, dst: dstPath }, (common) =>
      convert(src, dst, {
        ...common,
        to: to as TargetFormat,
        dtype,
        modelOnly: args.flags.has("model-only"),
        allowUnsafeValues: args.flags.has("allow-unsafe-values"),
        include: listOption(args, "include"),
        exclude: listOption(args, "exclude"),
        maxShardSize: maxShard === undefined ? undefined : parseByteSize(maxShard),
        adapter,
        hfAssets,
        layout,
        part,
      }));
  },
});

export async function readLayoutText(args: ParsedArgs, cwd: string): Promise<string | undefined> {
  const p = args.values.get("layout");
  if (p === undefined) return undefined;
  const loc = await locateInput(p, cwd);
  return new TextDecoder().decode(await loc.storage.readAll(loc.path));
}
