import { ADAPTER_NAMES } from "../../adapters/mod.ts";
import { diff } from "../../jobs/mod.ts";
import type { DiffReport } from "../../jobs/mod.ts";
import { requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";
import { locateInput } from "../locate.ts";
import { table } from "../output.ts";
import { adapterFromArgs, engineFromArgs } from "./shared.ts";

function formatError(x: number): string {
  return Number.isNaN(x) ? "-" : x === 0 ? "0" : x.toExponential(3);
}

/** `pathA`/`pathB`: the paths as the user gave them (the report's are relative to each storage root). */
function printDiff(report: DiffReport, pathA: string, pathB: string): string {
  const lines = [`a: ${report.a.format} ${pathA}   b: ${report.b.format} ${pathB}`, ""];
  lines.push(table(
    ["tensor", "dtype a/b", "shape", "equal bits", "max abs", "max rel", "note"],
    report.tensors.map((t) => [
      t.name,
      t.dtype[0] === t.dtype[1] ? t.dtype[0] : `${t.dtype[0]}/${t.dtype[1]}`,
      t.mismatch === "shape" ? `[${t.shape[0]}] vs [${t.shape[1]}]` : `[${t.shape[0].join(", ")}]`,
      t.equalBits ? "yes" : "no",
      formatError(t.maxAbsError),
      formatError(t.maxRelError),
      [
        t.mismatch ? `${t.mismatch} mismatch` : "",
        t.nonFiniteMismatches ? `${t.nonFiniteMismatches} NaN/Inf differ` : "",
      ]
        .filter(Boolean).join("; "),
    ]),
  ));
  const unequal = report.values.filter((v) => !v.equal);
  if (report.values.length > 0) {
    lines.push(
      "",
      `values: ${report.values.length - unequal.length} equal, ${unequal.length} differ${
        unequal.length ? `: ${unequal.map((v) => v.name).join(", ")}` : ""
      }`,
    );
  }
  if (report.onlyInA.length > 0) lines.push("", `only in a: ${report.onlyInA.join(", ")}`);
  if (report.onlyInB.length > 0) lines.push("", `only in b: ${report.onlyInB.join(", ")}`);
  lines.push("", report.identical ? "identical" : "different");
  return `${lines.join("\n")}\n`;
}

export const diffCommand = defineCommand({
  help: `usage: webdcp diff <a> <b> [--adapter NAME --flavor F --to-hf|--from-hf] [--json]

Per tensor: equal bits, max abs and max rel error (relative to a), shape/dtype mismatches; keys missing
on either side; non-tensor values compared by value. With an adapter, a's names and rotary rows are mapped
first (e.g. a TorchTitan DCP against an HF folder). Exit code 0 when identical, 1 when anything differs.

  --adapter NAME          ${ADAPTER_NAMES.join(", ")}
  --flavor NAME           model flavor
  --to-hf / --from-hf     direction that maps a onto b
  --keys classic|head     TorchTitan key generation
  --engine auto|gpu|cpu   where dtype widening runs (default cpu)
${COMMON_HELP}`,
  options: { values: ["adapter", "flavor", "keys", "engine"], flags: ["to-hf", "from-hf"] },
  async run(args, ctx) {
    const [aPath, bPath] = requirePositionals(args, ["a", "b"]);
    const adapter = adapterFromArgs(args);
    const a = await locateInput(aPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    const b = await locateInput(bPath, ctx.rt.cwd(), { followSymlinks: args.flags.has("follow-symlinks") });
    if (!args.values.has("engine")) args.values.set("engine", "cpu");
    const engine = engineFromArgs(args, [aPath, bPath]);
    try {
      const report = await diff(a, b, { adapter, engine, onProgress: ctx.progress.update });
      ctx.progress.finish();
      ctx.rt.out(ctx.json ? `${JSON.stringify(report, null, 1)}\n` : printDiff(report, aPath, bPath));
      return report.identical ? 0 : 1;
    } finally {
      engine.dispose();
    }
  },
});
