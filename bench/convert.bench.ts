/**
 * Issue #3, on one >= 2 GiB 4-rank DCP checkpoint written by real torch, every contender in every round:
 *  - `webdcp convert` DCP -> one bfloat16 safetensors file against the PyTorch way (`dcp.load` of the full
 *    state, `.to(bfloat16)`, `safetensors.torch.save_file`); both outputs must hold identical tensors;
 *  - `webdcp reshard` 4 -> 3 ranks against `cp -r` of the same bytes; real torch must load the resharded
 *    checkpoint to the same values as the source.
 *  - `webdcp convert` DCP -> one safetensors file in the source's dtype (issue #15: bytes that only move go at
 *    copy speed) against `cp -r` of the same bytes; its tensors must equal PyTorch's `dcp.load` of the source.
 *
 * The shared machines this runs on change speed from one minute to the next (another tenant's I/O, the
 * host paging guest memory in), by up to 5x for a whole-disk copy, and a step pays for the one before it
 * (the file system's discards after a durable output is removed). So nothing is concluded from one run:
 * each round runs every contender once, in a freshly shuffled order (seeded, so runs repeat), and a
 * comparison's ratio is the median over rounds of the ratio within each round (neighbours in time see the
 * same machine). Every contender's median and best time are reported too.
 *
 * Like for like: PyTorch's `save_file` and `cp -r` leave their bytes in the page cache, while webdcp by
 * default fsyncs every file it publishes (as PyTorch's DCP writer does). So webdcp runs both ways: with
 * `--no-fsync` against them, and as it is by default against `cp -r` followed by `sync`.
 *
 * webdcp runs as its users run it: the installed command (bin/webdcp over the bundled dist/cli, rebuilt from
 * this source first), timed as a whole process. The PyTorch side is timed without its imports, which only
 * favours PyTorch.
 *
 * usage: deno run -A bench/convert.bench.ts [CKPT_DIR] [ROUNDS]
 */
import { buildInstalledCli, DATA_DIR, DENO, python, warmPageCache, WEBDCP } from "./lib/env.ts";
import { settleMemory } from "./lib/settle.ts";
import { measure, type Measured, seconds } from "./lib/measure.ts";
import { type BenchRow, gib, memory, recordRows } from "./lib/results.ts";
import { median, pairedRatio as ratioOverRounds, shuffled } from "./lib/rounds.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-2048m`;
const rounds = Number(Deno.args[1] ?? 5);
const out = `${DATA_DIR}/out`;
const CONVERT_SPEEDUP_TARGET = 2;
const CONVERT_MEMORY_TARGET = 4;
/** Issue #15: bytes that only move (same-dtype convert, reshard) within 1.1x of `cp -r`. */
const COPY_SLOWDOWN_LIMIT = 1.1;

interface Contender {
  name: string;
  cmd: string[];
  /** The output to remove (and flush) before the next measurement. */
  output: string;
  /** Checks the output, once (first round). */
  check?: () => Promise<void>;
}

const py = python();
await buildInstalledCli();
const auto = (await measure([DENO, "run", "-A", "bench/workers/engine_name.ts"])).report;
await fresh(out);
await warmPageCache(dir);
const bytes = await dirBytes(dir);
const sourceChecksum = await torchChecksum(dir);

const torchOut = `${out}/torch.safetensors`;
const oursOut = `${out}/webdcp.safetensors`;
// Round 1 runs PyTorch's convert first and keeps its output until the end of the round, for these checks.
const sameAsTorch = () => run([py, "bench/py/same_tensors.py", oursOut, torchOut]);
const torchLoadsSameValues = (ckpt: string) => async () => {
  const checksum = await torchChecksum(ckpt);
  if (checksum !== sourceChecksum) {
    throw new Error(`torch reads other values from ${ckpt} (${checksum} vs ${sourceChecksum})`);
  }
};
const convertArgs = [dir, oursOut, "--to", "safetensors", "--dtype", "bfloat16", "--json"];
const sameDtypeOut = `${out}/webdcp-same-dtype.safetensors`;
const sameDtypeArgs = [dir, sameDtypeOut, "--to", "safetensors", "--json"];
const sameDtypeAsSource = () => run([py, "bench/py/same_as_dcp.py", sameDtypeOut, dir]);
const reshardArgs = (to: string) => ["reshard", dir, to, "--ranks", "3", "--json"];
const contenders: Contender[] = [
  { name: "torch convert", cmd: [py, "bench/py/torch_convert.py", dir, torchOut], output: torchOut },
  { name: "convert", cmd: [...WEBDCP, "convert", ...convertArgs], output: oursOut, check: sameAsTorch },
  {
    name: "convert --no-fsync",
    cmd: [...WEBDCP, "convert", ...convertArgs, "--no-fsync"],
    output: oursOut,
    check: sameAsTorch,
  },
  {
    name: "convert same dtype",
    cmd: [...WEBDCP, "convert", ...sameDtypeArgs],
    output: sameDtypeOut,
    check: sameDtypeAsSource,
  },
  {
    name: "convert same dtype --no-fsync",
    cmd: [...WEBDCP, "convert", ...sameDtypeArgs, "--no-fsync"],
    output: sameDtypeOut,
    check: sameDtypeAsSource,
  },
  { name: "cp -r", cmd: ["cp", "-r", dir, `${out}/copy`], output: `${out}/copy` },
  {
    name: "cp -r + sync",
    cmd: ["sh", "-c", `cp -r "$0" "$1" && sync "$1"/* "$1"/.metadata`, dir, `${out}/copy`],
    output: `${out}/copy`,
  },
  {
    name: "reshard",
    cmd: [...WEBDCP, ...reshardArgs(`${out}/reshard-3`)],
    output: `${out}/reshard-3`,
    check: torchLoadsSameValues(`${out}/reshard-3`),
  },
  {
    name: "reshard --no-fsync",
    cmd: [...WEBDCP, ...reshardArgs(`${out}/reshard-3`), "--no-fsync"],
    output: `${out}/reshard-3`,
    check: torchLoadsSameValues(`${out}/reshard-3`),
  },
];

const runs = new Map<string, Measured[]>(contenders.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  // Round 1 keeps the listed order: PyTorch's convert first, its output kept for the checks.
  const order = round === 0 ? contenders : shuffled(contenders, round);
  for (const c of order) {
    const m = await settled(c.cmd);
    runs.get(c.name)!.push(m);
    console.error(`round ${round + 1}/${rounds}: ${c.name} ${seconds(m).toFixed(2)} s, peak ${memory(m.peakRssBytes)}`);
    if (round === 0) await c.check?.();
    if (round > 0 || c.output !== torchOut) await Deno.remove(c.output, { recursive: true });
  }
  if (round === 0) await Deno.remove(torchOut);
}

/** Seconds of each round, in round order. */
const times = (name: string) => runs.get(name)!.map(seconds);
/** Median over rounds of a's time over b's time in the same round. */
const pairedRatio = (a: string, b: string) => ratioOverRounds(times(a), times(b));
const summary = (name: string) => {
  const t = times(name);
  return `${median(t).toFixed(2)} s (best ${Math.min(...t).toFixed(2)})`;
};
const peak = (name: string) => median(runs.get(name)!.map((m) => m.peakRssBytes));
const engine = `--engine auto: ${auto.kind}${auto.adapter ? ` (${auto.adapter})` : ""}`;

const rows: BenchRow[] = [];
for (const name of ["convert", "convert --no-fsync"]) {
  const speedup = 1 / pairedRatio(name, "torch convert");
  const memorySaving = peak("torch convert") / peak(name);
  rows.push({
    benchmark: `${name}: ${gib(bytes)} DCP (4 ranks) -> bf16 safetensors, ${engine}`,
    webdcp: summary(name),
    baseline: `dcp.load + .to(bf16) + save_file ${summary("torch convert")}`,
    ratio: `${speedup.toFixed(2)}x faster, ${memorySaving.toFixed(2)}x less memory`,
    peakMemory: `${memory(peak(name))} vs ${memory(peak("torch convert"))}`,
    target: `>= ${CONVERT_SPEEDUP_TARGET}x faster with <= 1/${CONVERT_MEMORY_TARGET} of the peak memory`,
    met: speedup >= CONVERT_SPEEDUP_TARGET && memorySaving >= CONVERT_MEMORY_TARGET,
    raw: { dir, rounds, auto, ours: runs.get(name), torch: runs.get("torch convert") },
  });
}
const copies = [
  ["convert same dtype --no-fsync", "cp -r", "DCP (4 ranks) -> safetensors in the source's dtype"],
  ["convert same dtype", "cp -r + sync", "DCP (4 ranks) -> safetensors in the source's dtype"],
  ["reshard --no-fsync", "cp -r", "DCP 4 -> 3 ranks"],
  ["reshard", "cp -r + sync", "DCP 4 -> 3 ranks"],
];
for (const [name, baseline, what] of copies) {
  const slowdown = pairedRatio(name, baseline);
  rows.push({
    benchmark: `${name}: ${gib(bytes)} ${what}`,
    webdcp: summary(name),
    baseline: `${baseline} ${summary(baseline)}`,
    ratio: `${slowdown.toFixed(2)}x ${baseline}'s time`,
    peakMemory: `${memory(peak(name))} vs ${memory(peak(baseline))}`,
    target: `within ${COPY_SLOWDOWN_LIMIT}x of ${baseline}`,
    met: slowdown <= COPY_SLOWDOWN_LIMIT,
    raw: { dir, rounds, ours: runs.get(name), baseline: runs.get(baseline) },
  });
}
await Deno.remove(out, { recursive: true });
await recordRows(rows);

/**
 * Measures `cmd` after flushing earlier steps' dirty pages, so no step pays for another's writeback, and
 * after `settleMemory()`.
 */
async function settled(cmd: string[]): Promise<Measured> {
  await run(["sync", "-f", DATA_DIR]);
  await settleMemory();
  return await measure(cmd);
}

async function fresh(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(path, { recursive: true });
}

async function run(cmd: string[]): Promise<void> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`'${cmd.join(" ")}' failed (exit ${r.code})`);
}

async function torchChecksum(ckpt: string): Promise<unknown> {
  return (await measure([py, "bench/py/torch_read.py", ckpt])).report.checksum;
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(path)) if (e.isFile) total += (await Deno.stat(`${path}/${e.name}`)).size;
  return total;
}
