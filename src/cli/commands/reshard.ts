import { invariant } from "../../errors/mod.ts";
import { dryRunReshard, inspect, reshard } from "../../jobs/mod.ts";
import { layoutToJson } from "../../dcp/mod.ts";
import { listOption, partOption, requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput, locateOutput } from "../locate.ts";
import { table } from "../output.ts";
import { formatBytes } from "../progress_bar.ts";
import { readLayoutText } from "./convert.ts";
import {
  LAYOUT_HELP,
  LAYOUT_OPTIONS,
  layoutFromArgs,
  PART_OPTIONS,
  partHelp,
  runWriteJob,
  WRITE_HELP,
} from "./shared.ts";

export const reshardCommand = defineCommand({
  help: `usage: webdcp reshard <src> <dst> (--ranks M [--dim D] | --layout layout.json | --dp-shard N --tp M) [options]

Any source chunking to any target chunking. Tensors keep their dtype; non-tensor items are copied verbatim
and stay on rank 0, as DCP expects of replicated values.

${LAYOUT_HELP}
  --dry-run               print the plan (which bytes move from which file to which) and write nothing
  --save-layout FILE      also write the target chunking as layout.json (to edit and pass to --layout)
  --include/--exclude     globs selecting keys, as for convert
${partHelp("rank files")}
${WRITE_HELP}
  --engine auto|gpu|cpu   where region copies run (default auto)
${COMMON_HELP}`,
  options: {
    values: [...LAYOUT_OPTIONS, "include", "exclude", ...PART_OPTIONS, "concurrency", "engine", "save-layout"],
    flags: ["dry-run", "no-fsync", "allow-unsafe-values"],
  },
  async run(args, ctx) {
    const dryRun = args.flags.has("dry-run");
    const [srcPath, dstPath] = dryRun && args.positionals.length === 1
      ? [args.positionals[0], ""]
      : requirePositionals(args, ["src", "dst"]);
    const layout = layoutFromArgs(args, await readLayoutText(args, ctx.rt.cwd()), true);
    invariant(layout, "a required layout is given or refused");
    const src = await locateInput(srcPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const select = { include: listOption(args, "include"), exclude: listOption(args, "exclude") };
    const saveLayout = args.values.get("save-layout");
    if (saveLayout !== undefined) {
      const report = await inspect(src);
      const out = await locateOutput(saveLayout, ctx.rt.cwd(), true, { input: srcPath });
      await out.storage.writeAll(out.path, new TextEncoder().encode(`${layoutToJson(layout, report.tensors)}\n`));
    }
    if (dryRun) {
      const plan = await dryRunReshard(src, { ...select, layout });
      if (ctx.json) {
        ctx.rt.out(`${JSON.stringify(plan, null, 1)}\n`);
        return 0;
      }
      const box = (b: { offsets: number[]; sizes: number[] }) => `[${b.offsets.join(",")}]+[${b.sizes.join(",")}]`;
      ctx.rt.out(`${plan.layout}: ${plan.moves.length} moves, ${formatBytes(plan.totalBytes)}\n\n`);
      ctx.rt.out(`${
        table(
          ["tensor", "from file", "item @ offset", "to file", "region", "bytes"],
          plan.moves.map((m) => [
            m.fqn,
            m.from.file,
            `${m.from.offset}+${m.from.length}`,
            m.to.file,
            box(m.region),
            String(m.bytes),
          ]),
          [false, false, true, false, false, true],
        )
      }\n`);
      if (plan.values.length > 0) {
        ctx.rt.out(`\n${
          table(
            ["value", "from file", "item @ offset", "to file"],
            plan.values.map((v) => [
              v.fqn,
              v.from.file,
              `${v.from.offset}+${v.from.length}`,
              v.to,
            ]),
            [false, false, true, false],
          )
        }\n`);
      }
      ctx.rt.out(
        `\n${table(["to file", "bytes"], plan.files.map((f) => [f.file, formatBytes(f.bytes)]), [false, true])}\n`,
      );
      return 0;
    }
    const dst = await locateOutput(dstPath, ctx.rt.cwd(), false, {
      fsync: !args.flags.has("no-fsync"),
      input: srcPath,
    });
    const part = partOption(args, ctx.rt.env);
    const allowUnsafeValues = args.flags.has("allow-unsafe-values");
    return await runWriteJob(
      args,
      ctx,
      { src: srcPath, dst: dstPath },
      (common) => reshard(src, dst, { ...common, ...select, layout, part, allowUnsafeValues }),
    );
  },
});
