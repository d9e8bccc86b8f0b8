/**
 * One line of the benchmark table, as every `*.bench.ts` hands it to `bench/report.ts`: already formatted
 * cells plus the raw measurements (kept in the JSON-lines file for anyone re-deriving the figures).
 */
export interface BenchRow {
  benchmark: string;
  webdcp: string;
  baseline: string;
  ratio: string;
  peakMemory: string;
  target: string;
  /** Whether the target holds; undefined for a row that only shows where the time goes. */
  met: boolean | undefined;
  raw: Record<string, unknown>;
}

/** Appends rows to the JSON-lines file named by `BENCH_RESULTS` (run.sh sets it) and prints them. */
export async function recordRows(rows: BenchRow[]): Promise<void> {
  for (const r of rows) {
    console.log(
      `${r.benchmark}: webdcp ${r.webdcp} | baseline ${r.baseline} | ${r.ratio} | ${r.peakMemory} | ` +
        `${r.met === undefined ? "no target" : r.met ? "met" : "MISSED"} (${r.target})`,
    );
  }
  const file = Deno.env.get("BENCH_RESULTS");
  if (file) await Deno.writeTextFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n", { append: true });
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** GiB for big figures, MiB below 1 GiB (a `cp` peak of 2 MiB must not read "0.00 GiB"). */
export function memory(bytes: number): string {
  return bytes >= 2 ** 30 ? gib(bytes) : mib(bytes);
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** "1.23 s (0.93 GB/s)": seconds and decimal GB per second of `bytes`. */
export function secondsAndRate(seconds: number, bytes: number): string {
  return `${seconds.toFixed(2)} s (${(bytes / 1e9 / seconds).toFixed(2)} GB/s)`;
}

/**
 * Whether a bench appends what it measured to bench/RESULTS.md: not with `BENCH_NO_RECORD=1` (a before/after
 * run whose figures go into another section).
 */
export function recording(): boolean {
  return Deno.env.get("BENCH_NO_RECORD") !== "1";
}

/** Prints a benchmark's markdown section and appends it to bench/RESULTS.md when `recording()`. */
export function recordSection(section: string): void {
  console.log(section);
  if (!recording()) return;
  Deno.writeTextFileSync(new URL("../RESULTS.md", import.meta.url), `\n${section}`, { append: true });
}
