import { finalize } from "../../jobs/mod.ts";
import { requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput } from "../locate.ts";

export const finalizeCommand = defineCommand({
  help: `usage: webdcp finalize <dst> [--json]

Merges the manifests that 'convert --part R/W' or 'reshard --part R/W' runs left in <dst> into the DCP
.metadata (or the safetensors index) and removes them. Fails, writing nothing, while a part is missing.

${COMMON_HELP}`,
  options: {},
  async run(args, ctx) {
    const [dstPath] = requirePositionals(args, ["dst"]);
    const dst = await locateInput(dstPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const report = await finalize(dst);
    if (ctx.json) ctx.rt.out(`${JSON.stringify(report, null, 1)}\n`);
    else ctx.say(`finalized ${report.parts} parts: wrote ${report.file}`);
    return 0;
  },
});
