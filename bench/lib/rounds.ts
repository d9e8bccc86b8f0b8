/**
 * Interleaved rounds for benchmarks on a shared machine whose speed drifts from minute to minute: every
 * contender runs once a round in a freshly shuffled (seeded) order, and a comparison is the median over rounds
 * of the ratio within each round, so neighbours in time see the same machine.
 */

/** A Fisher-Yates shuffle driven by a small LCG seeded with `seed`. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = (seed * 2654435761) >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median over rounds of `a[i] / b[i]`. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((t, i) => t / b[i]));
}

/** "12.34 s (best 11.90)": the median and the best of a contender's rounds. */
export function medianAndBest(xs: readonly number[]): string {
  return `${median(xs).toFixed(2)} s (best ${Math.min(...xs).toFixed(2)})`;
}

/** The 1-minute load average now. */
export function loadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

/** One line about the machine for a results section: cores, CPU, memory, load, Deno. */
export function machineLine(extra = ""): string {
  const cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  const kib = Number(/MemTotal:\s*(\d+)/.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1] ?? 0);
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  return `${navigator.hardwareConcurrency} cores (${cpu}), ${(kib / 2 ** 20).toFixed(1)} GiB RAM, load average ` +
    `${load} at the end, shared with other work; Deno ${Deno.version.deno}${extra}`;
}
