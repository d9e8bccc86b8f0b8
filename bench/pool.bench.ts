/**
 * The cast worker pool end to end: a float32 DCP (4 ranks, written by webdcp, BENCH_POOL_MIB of tensors,
 * default 1024) converted to safetensors in BENCH_POOL_DTYPE (default bfloat16; float8_e4m3fn is a cast that
 * costs more per byte) with the CPU engine's pool (one worker per hardware
 * thread) and without it (`workers: 0`, every cast on the main thread), no fsync, interleaved rounds
 * (BENCH_ROUNDS, default 5), medians of wall and CPU time. The outputs are compared byte for byte.
 * Deno: npx deno run -A bench/pool.bench.ts     (appends a section to bench/RESULTS.md)
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { cpuUsage } from "node:process";
import { convert } from "../src/jobs/mod.ts";
import { saveStateDict } from "../src/dcp/mod.ts";
import { createCpuEngine } from "../src/engine/mod.ts";
import { FileStorage } from "../src/storage/file/mod.ts";
import { makeTensor } from "../src/tensor/mod.ts";
import type { DType } from "../src/dtype/mod.ts";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";

const MIB = 1 << 20;
const total = Number(Deno.env.get("BENCH_POOL_MIB") ?? 1024) * MIB;
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 5);
const dtype = (Deno.env.get("BENCH_POOL_DTYPE") ?? "bfloat16") as DType;
const root = new URL("data/", import.meta.url).pathname;
const name = `pool-f32-${total / MIB}m`;
const storage = new FileStorage(root);
const output = new FileStorage(root, { fsync: false });

if (!existsSync(`${root}${name}/.metadata`)) {
  // Tensors of 8..64 MiB, weights-like float32 values (all finite, rounding in bfloat16).
  const sd = new Map();
  let x = 0x9E3779B9;
  for (let made = 0, k = 0; made < total; k++) {
    const rows = 1024 * (2 + (k % 7) * 2);
    const t = makeTensor("float32", [rows, 4096 / 4 / 4 * 4]);
    const w = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      w[i] = (x & 0x807FFFFF) | ((112 + (x >>> 24) % 16) << 23);
    }
    sd.set(`layers.${k}.weight`, t);
    made += t.data.byteLength;
  }
  await saveStateDict(storage, name, sd, { ranks: 4 });
}

const runs: Record<string, { wall: number[]; cpu: number[] }> = {
  pool: { wall: [], cpu: [] },
  main: { wall: [], cpu: [] },
};
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 === 0 ? ["pool", "main"] : ["main", "pool"]) {
    const out = `${name}-${mode}.out`;
    rmSync(`${root}${out}`, { recursive: true, force: true });
    const engine = createCpuEngine({ workers: mode === "pool" ? undefined : 0 });
    const c0 = cpuUsage();
    const t0 = performance.now();
    await convert({ storage, path: name }, { storage: output, path: out }, {
      to: "safetensors",
      dtype,
      engine,
    });
    runs[mode].wall.push((performance.now() - t0) / 1000);
    const c = cpuUsage(c0);
    runs[mode].cpu.push((c.user + c.system) / 1e6);
    engine.dispose();
  }
}
const same = readFileSync(`${root}${name}-pool.out/model.safetensors`).equals(
  readFileSync(`${root}${name}-main.out/model.safetensors`),
);
const gb = total / 1e9;
const row = (mode: string) => {
  const w = median(runs[mode].wall);
  return `| ${mode === "pool" ? `pool (${availableParallelism()} workers)` : "main thread only (workers: 0)"} | ${
    w.toFixed(2)
  } s | ${(gb / w).toFixed(2)} GB/s | ${median(runs[mode].cpu).toFixed(2)} s |`;
};
const section = [
  `## cast pool end to end (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, median of ${rounds})`,
  "",
  `${
    (total / 2 ** 30).toFixed(2)
  } GiB float32 DCP (4 ranks) -> ${dtype} safetensors, --no-fsync, Deno ${Deno.version.deno}; ` +
  `${availableParallelism()} cores shared with other jobs, load average ${
    loadavg().map((l) => l.toFixed(2)).join(" ")
  } ` +
  `at the end: indicative. Outputs identical: ${same ? "yes" : "**NO**"}.`,
  "",
  `\`BENCH_POOL_DTYPE=${dtype} npx deno run -A bench/pool.bench.ts\``,
  "",
  "| engine | wall | GB/s of input | CPU time (all threads) |",
  "| --- | --- | --- | --- |",
  row("pool"),
  row("main"),
  "",
].join("\n");
recordSection(section);
for (const mode of ["pool", "main"]) rmSync(`${root}${name}-${mode}.out`, { recursive: true, force: true });
