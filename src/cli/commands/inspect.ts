import { inspect } from "../../jobs/mod.ts";
import { limitsOption, requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput } from "../locate.ts";
import { table } from "../output.ts";
import { formatBytes } from "../progress_bar.ts";

export const inspectCommand = defineCommand({
  help: `usage: webdcp inspect <path> [--json]

Reads only metadata and headers of a DCP folder, a .pt/.pth/.bin torch.save file, a .safetensors file or a
HuggingFace folder, and prints its tensors (name, dtype, shape, chunks, bytes), non-tensor entries, files and
bytes per rank, and totals.

${COMMON_HELP}`,
  options: {},
  async run(args, ctx) {
    const [path] = requirePositionals(args, ["path"]);
    const loc = await locateInput(path, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    // The report's path is relative to the storage root, which is the folder itself for folder inputs ("");
    // the user asked about the path they typed.
    const report = { ...await inspect(loc, { limits: limitsOption(args) }), path };
    if (ctx.json) {
      ctx.rt.out(`${JSON.stringify(report, null, 1)}\n`);
      return 0;
    }
    const out: string[] = [`${report.format} checkpoint ${path}`, ""];
    out.push(table(
      ["tensor", "dtype", "shape", "chunks", "bytes"],
      report.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(", ")}]`, String(t.chunks), formatBytes(t.bytes)]),
      [false, false, false, true, true],
    ));
    if (report.values.length > 0) {
      out.push("", table(["value", "bytes"], report.values.map((v) => [v.name, String(v.bytes)]), [false, true]));
    }
    out.push(
      "",
      table(
        ["file", "rank", "bytes"],
        report.files.map((f) => [f.path, f.rank?.toString() ?? "", formatBytes(f.size)]),
        [false, true, true],
      ),
    );
    if (report.ranks.length > 0) {
      out.push(
        "",
        table(
          ["rank", "files", "bytes"],
          report.ranks.map((r) => [String(r.rank), String(r.files), formatBytes(r.bytes)]),
          [true, true, true],
        ),
      );
    }
    const t = report.totals;
    out.push(
      "",
      `total: ${t.tensors} tensors (${t.elements} elements, ${formatBytes(t.tensorBytes)}), ${t.values} values, ` +
        `${report.files.length} files (${formatBytes(t.fileBytes)})`,
    );
    ctx.rt.out(`${out.join("\n")}\n`);
    return 0;
  },
});
