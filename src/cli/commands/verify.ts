import { verify } from "../../jobs/mod.ts";
import { limitsOption, requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput } from "../locate.ts";
import { formatProblem } from "../output.ts";

export const verifyCommand = defineCommand({
  help: `usage: webdcp verify <path> [--deep] [--json]

Checks that every referenced file exists, every item lies inside its file, chunks cover every tensor exactly
(no gaps, no overlaps) and every item decodes. --deep also reads all tensor data and checks zip CRC-32s.
Exit code: 0 sound, 1 problems (listed), 2 usage error.

  --deep     read all data and check CRCs
${COMMON_HELP}`,
  options: { flags: ["deep"] },
  async run(args, ctx) {
    const [path] = requirePositionals(args, ["path"]);
    const loc = await locateInput(path, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const report = await verify(loc, {
      deep: args.flags.has("deep"),
      onProgress: ctx.progress.update,
      limits: limitsOption(args),
    });
    ctx.progress.finish();
    if (ctx.json) {
      ctx.rt.out(`${JSON.stringify(report, null, 1)}\n`);
    } else {
      for (const p of report.problems) ctx.rt.err(`${formatProblem(p.code, p.message, p.path, p.offset)}\n`);
      ctx.say(
        report.ok
          ? `sound: ${report.checked.tensors} tensors, ${report.checked.values} values, ${report.checked.files} files`
          : `${report.problems.length} problem(s) found`,
      );
    }
    return report.ok ? 0 : 1;
  },
});
