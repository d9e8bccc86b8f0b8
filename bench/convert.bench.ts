/**
 * Issue #3, on one >= 2 GiB 4-rank DCP checkpoint written by real torch, in one run:
 *  - `webdcp convert` DCP -> one bfloat16 safetensors file against the PyTorch way (`dcp.load` of the full
 *    state, `.to(bfloat16)`, `safetensors.torch.save_file`); both outputs must hold identical tensors;
 *  - `webdcp reshard` 4 -> 3 ranks against `cp -r` of the same bytes; real torch must load the resharded
 *    checkpoint to the same values as the source.
 * webdcp runs as its users run it: the CLI under Deno (`deno task webdcp`'s command line), timed as a whole
 * process, with `--engine auto` (what users get) and `--engine cpu`. The PyTorch side is timed without its
 * imports, which only favours PyTorch.
 *
 * usage: deno run -A bench/convert.bench.ts [CKPT_DIR]
 */
import { DATA_DIR, DENO, python, warmPageCache } from "./lib/env.ts";
import { measure, type Measured, seconds } from "./lib/measure.ts";
import { type BenchRow, gib, memory, recordRows } from "./lib/results.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-2048m`;
const out = `${DATA_DIR}/out`;
const CONVERT_SPEEDUP_TARGET = 2;
const CONVERT_MEMORY_TARGET = 4;
const RESHARD_SLOWDOWN_LIMIT = 1.5;
// Exactly what `deno task webdcp` runs (deno.json), so the figures are the CLI users' figures.
const WEBDCP = [DENO, "run", "--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys", "src/cli/main.ts"];
const ENGINES = ["auto", "cpu"] as const;

const py = python();
const auto = (await measure([DENO, "run", "-A", "bench/workers/engine_name.ts"])).report;
const engineLabel = (e: string) => e === "cpu" ? "--engine cpu" : `--engine auto (${auto.kind}${auto.adapter ? `: ${auto.adapter}` : ""})`;
await fresh(out);
await warmPageCache(dir);
const bytes = await dirBytes(dir);
const rows: BenchRow[] = [];

const torchConvert = await settled([py, "bench/py/torch_convert.py", dir, `${out}/torch.safetensors`]);
for (const engine of ENGINES) {
  const ours = await settled([...WEBDCP, "convert", dir, `${out}/webdcp.safetensors`, "--to", "safetensors", "--dtype", "bfloat16", "--engine", engine, "--json"]);
  await run([py, "bench/py/same_tensors.py", `${out}/webdcp.safetensors`, `${out}/torch.safetensors`]);
  await Deno.remove(`${out}/webdcp.safetensors`);
  const speedup = seconds(torchConvert) / seconds(ours);
  const memorySaving = torchConvert.peakRssBytes / ours.peakRssBytes;
  rows.push({
    benchmark: `convert ${gib(bytes)} DCP (4 ranks) -> bf16 safetensors, ${engineLabel(engine)}`,
    webdcp: timeOf(ours),
    baseline: `dcp.load + .to(bf16) + save_file ${timeOf(torchConvert)}`,
    ratio: `${speedup.toFixed(2)}x faster, ${memorySaving.toFixed(2)}x less memory`,
    peakMemory: `${memory(ours.peakRssBytes)} vs ${memory(torchConvert.peakRssBytes)}`,
    target: `>= ${CONVERT_SPEEDUP_TARGET}x faster with <= 1/${CONVERT_MEMORY_TARGET} of the peak memory`,
    met: speedup >= CONVERT_SPEEDUP_TARGET && memorySaving >= CONVERT_MEMORY_TARGET,
    raw: { dir, engine, auto, ours, torchConvert },
  });
}
await Deno.remove(`${out}/torch.safetensors`);

const copy = await settled(["cp", "-r", dir, `${out}/copy`]);
await Deno.remove(`${out}/copy`, { recursive: true });
// webdcp fsyncs every file it publishes; plain cp leaves the bytes in the page cache. Both are reported.
const durableCopy = await settled(["sh", "-c", `cp -r "$0" "$1" && sync "$1"/* "$1"/.metadata`, dir, `${out}/copy`]);
await Deno.remove(`${out}/copy`, { recursive: true });
const sourceChecksum = await torchChecksum(dir);
for (const engine of ENGINES) {
  const ours = await settled([...WEBDCP, "reshard", dir, `${out}/reshard-3`, "--ranks", "3", "--engine", engine, "--json"]);
  const checksum = await torchChecksum(`${out}/reshard-3`);
  if (checksum !== sourceChecksum) throw new Error(`torch reads other values from the resharded checkpoint (${checksum} vs ${sourceChecksum})`);
  await Deno.remove(`${out}/reshard-3`, { recursive: true });
  const slowdown = seconds(ours) / seconds(copy);
  rows.push({
    benchmark: `reshard ${gib(bytes)} DCP 4 -> 3 ranks, ${engineLabel(engine)}`,
    webdcp: timeOf(ours),
    baseline: `cp -r ${timeOf(copy)} (cp -r + sync ${timeOf(durableCopy)})`,
    ratio: `${slowdown.toFixed(2)}x cp's time (${(seconds(ours) / seconds(durableCopy)).toFixed(2)}x cp + sync)`,
    peakMemory: `${memory(ours.peakRssBytes)} vs ${memory(copy.peakRssBytes)}`,
    target: `within ${RESHARD_SLOWDOWN_LIMIT}x of cp -r`,
    met: slowdown <= RESHARD_SLOWDOWN_LIMIT,
    raw: { dir, engine, auto, ours, copy, durableCopy },
  });
}
await Deno.remove(out, { recursive: true });
await recordRows(rows);

function timeOf(m: Measured): string {
  return `${seconds(m).toFixed(2)} s`;
}

/** Measures `cmd` after flushing earlier steps' dirty pages, so no step pays for another's writeback. */
async function settled(cmd: string[]): Promise<Measured> {
  await run(["sync", "-f", DATA_DIR]);
  return await measure(cmd);
}

async function fresh(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(path, { recursive: true });
}

async function run(cmd: string[]): Promise<void> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "inherit", stderr: "inherit" }).output();
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
