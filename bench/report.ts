/**
 * Prints the benchmark table (ours, baseline, ratio, peak memory) from the rows the benches recorded and
 * appends it to bench/RESULTS.md as a dated section with the command that produced it and the machine
 * (unless `BENCH_NO_RECORD=1`: see `recording()`).
 *
 * usage: deno run -A bench/report.ts RESULTS_JSONL "COMMAND" [MACHINE_LINE]
 */
import { type BenchRow, recording } from "./lib/results.ts";

const TITLE = [
  "# Benchmark results",
  "",
  "Appended by `npm run bench` (bench/run.sh); newest last. Times: best of the runs for the read bench (the",
  "least disturbed by other load); for convert and reshard, every contender runs once per round in a shuffled",
  "order, times are medians (best in brackets) and a ratio is the median over rounds of the ratio within a",
  "round. webdcp's convert/reshard times are the whole CLI process, PyTorch's exclude its imports. Peak memory",
  "is each process's maximum RSS from `/usr/bin/time -v`. Files are read from a warm page cache.",
  "",
].join("\n");

const [resultsFile, command, machine] = Deno.args;
const rows: BenchRow[] = (await Deno.readTextFile(resultsFile)).split("\n").filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l));

const header = ["benchmark", "webdcp", "baseline", "ratio", "peak memory (webdcp vs baseline)", "target", "met"];
const cells = rows.map((
  r,
) => [
  r.benchmark,
  r.webdcp,
  r.baseline,
  r.ratio,
  r.peakMemory,
  r.target,
  r.met === undefined ? "-" : r.met ? "yes" : "**no**",
]);
const table = [header, header.map(() => "---"), ...cells].map((c) =>
  `| ${c.map((x) => x.replaceAll("|", "\\|")).join(" | ")} |`
)
  .join("\n");
console.log(`\n${table}\n`);

const stamp = new Date().toISOString().replace("T", " ").slice(0, 16);
const method = "Convert and reshard rows: every contender once a round, rounds in shuffled order; times are medians " +
  "(best in brackets), ratios the median over rounds of the ratio within a round.";
const section = `\n## ${stamp} UTC\n\nCommand: \`${command}\`\n\nMachine: ${
  machine ?? "unknown"
}\n\n${method}\n\n${table}\n`;
const target = "bench/RESULTS.md";
if (recording()) {
  const existing = await Deno.readTextFile(target).catch(() => "");
  await Deno.writeTextFile(target, existing === "" ? `${TITLE}${section}` : `${existing.trimEnd()}\n${section}`);
  console.log(`appended to ${target}`);
}
