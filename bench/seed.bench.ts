/**
 * Seed checkpoint speed (issue 10: seed creation against its written size; target: disk speed, memory under
 * 1 GiB).
 *
 * 1. Generation alone, on this thread: the TypeScript generator (`CounterRandom.fillTruncNormal`, the twin,
 *    and the only path before the WebAssembly one) against `fillSeedSimd`, on the same elements (TorchTitan's
 *    truncated N(0, 0.02) of a wq weight), every round both in shuffled order; CPU nanoseconds per element.
 * 2. End to end, each a fresh process under `/usr/bin/time -v`, every round all in shuffled order:
 *    `webdcp seed --model llama3 --flavor F --dtype D` (D: `--dtype`, default float32 as the command's own;
 *    direct writes, its default, and `--no-direct`) against `dd if=/dev/zero` of the same size into the same
 *    folder, through the page cache (`bs=1M conv=fdatasync`: larger calls run 5-10x slower into this VM's page
 *    cache, see src/storage/file/sink_file.ts) and direct (`bs=4M oflag=direct conv=fdatasync`): the disk's
 *    speed for a written and synced file either way; with `--before CHECKOUT`, that checkout's CLI too (e.g. the
 *    commit before workers). `--direct-only` leaves out the two page-cache contenders (an 8B float32 seed is 32
 *    GB: through this VM's page cache each takes minutes and says nothing about the direct path). Outputs are
 *    deleted after each run, and each run starts after `settleMemory()`.
 *
 * usage: npx deno run -A bench/seed.bench.ts [flavor=1B] [rounds=3] [--dtype float32|bfloat16|float16]
 *        [--out DIR] [--before CHECKOUT] [--direct-only] [--gen-only] [--append]
 * Prints a markdown section; `--append` adds it to bench/RESULTS.md.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { LLAMA3_KEY_GENERATIONS, llama3Flavor, llama3Parameters } from "../src/adapters/mod.ts";
import { CounterRandom } from "../src/manager/seed_random.ts";
import { fillSeedSimd } from "../src/manager/seed_simd.ts";
import { numel } from "../src/tensor/mod.ts";
import { DENO, WEBDCP_DENO_ARGS } from "./lib/env.ts";
import { measure, type Measured } from "./lib/measure.ts";
import { settleMemory } from "./lib/settle.ts";
import { loadAverage, machineLine, median, pairedRatio, shuffled } from "./lib/rounds.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    out: { type: "string", default: "/tmp/webdcp-seed-bench" },
    before: { type: "string" },
    dtype: { type: "string", default: "float32" },
    "direct-only": { type: "boolean", default: false },
    "gen-only": { type: "boolean", default: false },
    append: { type: "boolean", default: false },
  },
});
const flavor = positionals[0] ?? "1B";
const dtype = values.dtype;
const DTYPE_BYTES: Record<string, number> = { float32: 4, bfloat16: 2, float16: 2 };
if (!(dtype in DTYPE_BYTES)) throw new Error(`--dtype must be one of ${Object.keys(DTYPE_BYTES).join(", ")}`);
const rounds = Number(positionals[1] ?? 3);
const lines: string[] = [];
const say = (line = "") => {
  console.log(line);
  lines.push(line);
};
const loadStart = loadAverage();

// 1. Generation alone.
const GEN_ELEMENTS = 16 << 20;
const rng = new CounterRandom(0, "layers.0.attention.qkv_linear.wq.weight");
const band = new Float32Array(1 << 20);
const generators = {
  typescript: (start: number) => rng.fillTruncNormal(band, start, 0.02, -2, 2),
  wasm: (start: number) => void fillSeedSimd(rng, band, start, 0.02, -2, 2),
};
const genNs: Record<string, number[]> = { typescript: [], wasm: [] };
for (let round = 0; round < rounds + 1; round++) {
  for (const name of shuffled(Object.keys(generators), round) as (keyof typeof generators)[]) {
    const before = process.cpuUsage();
    for (let start = 0; start < GEN_ELEMENTS; start += band.length) generators[name](start);
    const used = process.cpuUsage(before);
    if (round > 0) genNs[name].push(((used.user + used.system) * 1000) / GEN_ELEMENTS); // round 0 warms up
  }
}
say(`## seed checkpoint speed, ${flavor} ${dtype} (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC)`);
say();
say(`\`npx deno run -A bench/seed.bench.ts ${Deno.args.join(" ")}\``);
say();
say(`Generation alone on one thread, ${GEN_ELEMENTS >> 20} Mi elements of truncated N(0, 0.02) per round, ${rounds}`);
say(`rounds (order shuffled each round, after a warm-up round), CPU time per element:`);
say();
say("| generator | ns per element (median) | each round | float32 MB per CPU second |");
say("| --- | --- | --- | --- |");
for (const [name, ns] of Object.entries(genNs)) {
  say(
    `| ${name} | ${median(ns).toFixed(2)} | ${ns.map((x) => x.toFixed(2)).join(", ")} | ${
      (4000 / median(ns)).toFixed(0)
    } |`,
  );
}
say();
say(`WebAssembly is ${pairedRatio(genNs.typescript, genNs.wasm).toFixed(2)}x the TypeScript generator per CPU second.`);
say();

// 2. End to end against dd.
if (!values["gen-only"]) {
  const params = llama3Parameters(llama3Flavor(flavor), LLAMA3_KEY_GENERATIONS.head);
  const bytes = params.reduce((n, p) => n + numel(p.shape) * DTYPE_BYTES[dtype], 0);
  const blocks = Math.ceil(bytes / (4 << 20));
  const out = values.out;
  const seedArgs = (checkout: string) => [
    DENO,
    ...WEBDCP_DENO_ARGS.map((a) => (a.endsWith("main.ts") ? `${checkout}/${a}` : a)),
    "seed",
    "--model",
    "llama3",
    "--flavor",
    flavor,
    "--out",
    `${out}/seed`,
    "--dtype",
    dtype,
    "--json",
  ];
  const dd = (
    mib: number,
    ...flags: string[]
  ) => ["dd", "if=/dev/zero", `of=${out}/dd.bin`, `bs=${mib}M`, `count=${(blocks * 4) / mib}`, ...flags];
  const ddCached = `dd bs=1M count=${blocks * 4} conv=fdatasync`;
  const ddDirect = `dd bs=4M count=${blocks} oflag=direct conv=fdatasync`;
  const contenders: Record<string, string[]> = {
    "webdcp seed": seedArgs("."),
    [ddDirect]: dd(4, "oflag=direct", "conv=fdatasync"),
  };
  if (!values["direct-only"]) {
    contenders["webdcp seed --no-direct"] = [...seedArgs("."), "--no-direct"];
    contenders[ddCached] = dd(1, "conv=fdatasync");
  }
  if (values.before !== undefined) contenders[`webdcp seed (${values.before})`] = seedArgs(values.before);
  const runs: Record<string, (Measured & { load: number })[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const name of shuffled(Object.keys(contenders), round + 7)) {
      await Deno.remove(out, { recursive: true }).catch(() => {});
      await Deno.mkdir(out, { recursive: true });
      await settleMemory();
      const m = await measure(contenders[name]);
      (runs[name] ??= []).push({ ...m, load: loadAverage() });
      await Deno.remove(out, { recursive: true });
      console.error(`round ${round + 1}: ${name} ${m.wallSeconds.toFixed(1)} s`);
    }
  }
  const walls = (name: string) => runs[name].map((m) => m.wallSeconds);
  say(`End to end: ${(bytes / 1e9).toFixed(2)} GB of ${dtype} tensors (${params.length} tensors), a fresh process`);
  say(`each, all contenders once a round in shuffled order, ${rounds} rounds; the output deleted after each run.`);
  say(`CPU = user + system of the process and its threads (GNU time); peak RSS of the process.`);
  say();
  const cached = runs[ddCached] !== undefined;
  say(
    `| contender | wall (each round) | MB/s (median) | CPU s (median) | peak RSS (max) | ${
      cached ? "wall / dd's through the page cache (median) | " : ""
    }wall / dd's direct (median) | load after each |`,
  );
  say(`| --- | --- | --- | --- | --- | ${cached ? "--- | " : ""}--- | --- |`);
  for (const [name, ms] of Object.entries(runs)) {
    const wall = walls(name);
    const cpu = ms.map((m) => m.userSeconds + m.systemSeconds);
    const split = ms.map((m) => `${m.userSeconds.toFixed(1)}+${m.systemSeconds.toFixed(1)}`).join(", ");
    say(
      `| ${name} | ${wall.map((w) => w.toFixed(1)).join(", ")} s | ${(bytes / 1e6 / median(wall)).toFixed(0)} | ` +
        `${median(cpu).toFixed(1)} (${split}) | ${
          (Math.max(...ms.map((m) => m.peakRssBytes)) / 2 ** 20).toFixed(0)
        } MiB | ` +
        `${cached ? `${pairedRatio(wall, walls(ddCached)).toFixed(2)} | ` : ""}${
          pairedRatio(wall, walls(ddDirect)).toFixed(2)
        } | ${ms.map((m) => m.load.toFixed(1)).join(", ")} |`,
    );
  }
  say();
}

say(`Machine: ${machineLine()}; load average ${loadStart} at the start.`);
say();

if (values.append) await Deno.writeTextFile("bench/RESULTS.md", `\n${lines.join("\n")}\n`, { append: true });
