/**
 * Issue #3, on one >= 2 GiB 4-rank DCP checkpoint written by real torch, in one run:
 *  - `webdcp convert` DCP -> one bfloat16 safetensors file against the PyTorch way (`dcp.load` of the full
 *    state, `.to(bfloat16)`, `safetensors.torch.save_file`); both outputs must hold identical tensors;
 *  - `webdcp reshard` 4 -> 3 ranks against `cp -r` of the same bytes; real torch must load the resharded
 *    checkpoint to the same values as the source.
 * webdcp runs as its users run it: the CLI under Deno (`deno task webdcp`'s command line), timed as a whole
 * process; the PyTorch side is timed without its imports, which only favours PyTorch.
 *
 * usage: deno run -A bench/convert.bench.ts [CKPT_DIR]
 */
import { DATA_DIR, DENO, python, warmPageCache } from "./lib/env.ts";
import { measure, type Measured, seconds } from "./lib/measure.ts";
import { type BenchRow, gib, recordRows } from "./lib/results.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-2048m`;
const out = `${DATA_DIR}/out`;
const CONVERT_SPEEDUP_TARGET = 2;
const CONVERT_MEMORY_TARGET = 4;
const RESHARD_SLOWDOWN_LIMIT = 1.5;
// Exactly what `deno task webdcp` runs (deno.json), so the figures are the CLI users' figures.
const WEBDCP = [DENO, "run", "--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys", "src/cli/main.ts"];

const py = python();
await fresh(out);
await warmPageCache(dir);

const oursConvert = await measure([...WEBDCP, "convert", dir, `${out}/webdcp.safetensors`, "--to", "safetensors", "--dtype", "bfloat16", "--json"]);
const torchConvert = await measure([py, "bench/py/torch_convert.py", dir, `${out}/torch.safetensors`]);
await run([py, "bench/py/same_tensors.py", `${out}/webdcp.safetensors`, `${out}/torch.safetensors`]);
await Deno.remove(`${out}/webdcp.safetensors`);
await Deno.remove(`${out}/torch.safetensors`);

await warmPageCache(dir);
const oursReshard = await measure([...WEBDCP, "reshard", dir, `${out}/reshard-3`, "--ranks", "3", "--json"]);
const copy = await measure(["cp", "-r", dir, `${out}/copy`]);
const [before, after] = [await torchChecksum(dir), await torchChecksum(`${out}/reshard-3`)];
if (before !== after) throw new Error(`torch reads different values from the resharded checkpoint (${after} vs ${before})`);
await fresh(out);

const bytes = await dirBytes(dir);
const convertSpeedup = seconds(torchConvert) / seconds(oursConvert);
const convertMemory = torchConvert.peakRssBytes / oursConvert.peakRssBytes;
const reshardSlowdown = seconds(oursReshard) / seconds(copy);
const timeOf = (m: Measured) => `${seconds(m).toFixed(2)} s`;
const rows: BenchRow[] = [
  {
    benchmark: `convert ${gib(bytes)} DCP (4 ranks) -> bf16 safetensors`,
    webdcp: timeOf(oursConvert),
    baseline: `dcp.load + .to(bf16) + save_file ${timeOf(torchConvert)}`,
    ratio: `${convertSpeedup.toFixed(2)}x faster, ${convertMemory.toFixed(2)}x less memory`,
    peakMemory: `${gib(oursConvert.peakRssBytes)} vs ${gib(torchConvert.peakRssBytes)}`,
    target: `>= ${CONVERT_SPEEDUP_TARGET}x faster with <= 1/${CONVERT_MEMORY_TARGET} of the peak memory`,
    met: convertSpeedup >= CONVERT_SPEEDUP_TARGET && convertMemory >= CONVERT_MEMORY_TARGET,
    raw: { dir, oursConvert, torchConvert },
  },
  {
    benchmark: `reshard ${gib(bytes)} DCP 4 -> 3 ranks`,
    webdcp: timeOf(oursReshard),
    baseline: `cp -r ${timeOf(copy)}`,
    ratio: `${reshardSlowdown.toFixed(2)}x cp's time`,
    peakMemory: `${gib(oursReshard.peakRssBytes)} vs ${gib(copy.peakRssBytes)}`,
    target: `within ${RESHARD_SLOWDOWN_LIMIT}x of cp -r`,
    met: reshardSlowdown <= RESHARD_SLOWDOWN_LIMIT,
    raw: { dir, oursReshard, copy },
  },
];
await recordRows(rows);

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
