/**
 * Issue #2: reading a ~1 GiB 4-rank DCP checkpoint written by real torch, webdcp against
 * `torch.distributed.checkpoint.load`, both into preallocated buffers, same files, same run; then the
 * memory one region read costs. Runs under Deno, the runtime the `webdcp` CLI ships for.
 *
 * usage: deno run -A bench/read.bench.ts [CKPT_DIR] [RUNS]
 */
import { type DcpEntry, openDcp } from "../src/dcp/mod.ts";
import type { TensorEntry } from "../src/tensor/mod.ts";
import { itemsize } from "../src/dtype/mod.ts";
import { FileStorage } from "../src/storage/file/mod.ts";
import { DATA_DIR, DENO, python, warmPageCache } from "./lib/env.ts";
import { bestOf, measure, type Measured, seconds } from "./lib/measure.ts";
import { type BenchRow, gib, memory, mib, recordRows, secondsAndRate } from "./lib/results.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-1024m`;
const runs = Number(Deno.args[1] ?? 3);
const REGION_BYTES = 8 << 20;
// A region that costs more than this many times its own size has leaked whole items or files into memory.
const REGION_OVERHEAD_LIMIT = 4;

const py = python();
await warmPageCache(dir);

// Alternate the two sides so that a burst of load on the shared machine does not favour one of them.
let ours: Measured | undefined;
let torch: Measured | undefined;
for (let i = 0; i < runs; i++) {
  const o = await measure([DENO, "run", "-A", "bench/workers/read_all.ts", dir]);
  const t = await measure([py, "bench/py/torch_read.py", dir]);
  if (!ours || seconds(o) < seconds(ours)) ours = o;
  if (!torch || seconds(t) < seconds(torch)) torch = t;
}
if (ours!.report.checksum !== torch!.report.checksum) {
  throw new Error(
    `webdcp and torch read different values: checksum ${ours!.report.checksum} vs ${torch!.report.checksum}`,
  );
}
const bytes = ours!.report.bytes as number;
const speedup = seconds(torch!) / seconds(ours!);

const region = await pickRegion(dir);
const regionArgs = (mode: string) => [DENO, "run", "-A", "bench/workers/read_region.ts", dir, mode, ...region.args];
const opened = await bestOf(runs, () => regionArgs("open"));
const read = await bestOf(runs, () => regionArgs("region"));
const regionCost = read.peakRssBytes - opened.peakRssBytes;

const rows: BenchRow[] = [
  {
    benchmark: `full read, ${gib(bytes)} DCP (4 ranks) into preallocated buffers`,
    webdcp: secondsAndRate(seconds(ours!), bytes),
    baseline: `dcp.load ${secondsAndRate(seconds(torch!), bytes)}`,
    ratio: `${speedup.toFixed(2)}x`,
    peakMemory: `${memory(ours!.peakRssBytes)} vs ${memory(torch!.peakRssBytes)}`,
    target: "webdcp at least as fast as torch",
    met: speedup >= 1,
    raw: { dir, runs, ours, torch },
  },
  {
    benchmark: `region read, ${mib(read.report.bytes as number)} of '${region.fqn}' across 2 chunks`,
    webdcp: `${((read.report.seconds as number) * 1000).toFixed(1)} ms`,
    baseline: "open only",
    ratio: `${(regionCost / REGION_BYTES).toFixed(2)}x region size`,
    peakMemory: `+${mib(regionCost)} peak RSS (${mib(read.peakRssBytes)} vs ${mib(opened.peakRssBytes)}), ` +
      `in-process RSS +${mib(read.report.rss_delta_bytes as number)}`,
    target: `memory near the region's size (<= ${REGION_OVERHEAD_LIMIT}x), not the file's (${gib(bytes)})`,
    met: regionCost <= REGION_OVERHEAD_LIMIT * REGION_BYTES,
    raw: { region, opened, read },
  },
];
await recordRows(rows);

/** About 8 MiB of whole rows of the largest 2-d tensor, straddling its first chunk boundary. */
async function pickRegion(dir: string): Promise<{ fqn: string; args: string[] }> {
  const ckpt = await openDcp(new FileStorage(dir), "");
  try {
    const matrices = ckpt.entries().filter((e): e is DcpEntry & TensorEntry =>
      e.kind === "tensor" && e.shape.length === 2 && e.chunks.length > 1
    );
    if (matrices.length === 0) throw new Error(`${dir} has no sharded 2-d tensor to read a region of`);
    const e = matrices.reduce((a, b) => (a.shape[0] * a.shape[1] >= b.shape[0] * b.shape[1] ? a : b));
    const rows = Math.max(1, Math.floor(REGION_BYTES / (e.shape[1] * itemsize(e.dtype))));
    const boundary = e.chunks[1].offsets[0];
    const start = Math.max(0, Math.min(boundary - Math.floor(rows / 2), e.shape[0] - rows));
    return { fqn: e.name, args: [e.name, String(start), String(rows)] };
  } finally {
    await ckpt.close();
  }
}
