/**
 * The manager's costs (issue 10): for a 512 MiB training state, what a synchronous save blocks against
 * what an `async` save blocks (staging the snapshot) and writes afterwards; staging buffers allocated by
 * steady-state `async_with_pinned_mem` saves; seed checkpoint speed and memory.
 * `npx deno run -A bench/manager.bench.ts [state MiB] [seed flavor]` prints a table and appends it to
 * bench/RESULTS.md.
 */
import process from "node:process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointManager, createSeedCheckpoint, FileStorage, type Stateful, type Tensor } from "../mod.ts";

const stateMiB = Number(process.argv[2] ?? 512);
const seedFlavor = process.argv[3] ?? "debugmodel";
const TENSOR_MIB = 32;

function tensors(prefix: string, count: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(TENSOR_MIB << 20);
    for (let j = 0; j < data.length; j += 4096) data[j] = (i * 31 + j) & 255;
    out[`${prefix}${i}.weight`] = { dtype: "float32", shape: [(TENSOR_MIB << 20) / 4 / 1024, 1024], data };
  }
  return out;
}
const holder = (sd: Record<string, unknown>): Stateful => ({ stateDict: () => sd, loadStateDict: () => {} });
const perHalf = Math.max(1, Math.round(stateMiB / 2 / TENSOR_MIB));
const model = holder(tensors("layers.", perHalf));
const optimizer = holder(
  Object.fromEntries(Object.entries(tensors("", perHalf)).map(([k, v]) => [`state.layers.${k}.exp_avg`, v])),
);
const states = { model, optimizer };
const totalMiB = 2 * perHalf * TENSOR_MIB;

const root = await mkdtemp(join(tmpdir(), "webdcp-bench-manager-"));
const rows: string[][] = [];
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const ms = (x: number) => x.toFixed(0);

try {
  for (const mode of ["disabled", "async", "async_with_pinned_mem"] as const) {
    const storage = new FileStorage(join(root, mode));
    const m = new CheckpointManager({ checkpoint: { enable: true, interval: 1, async_mode: mode, keep_latest_k: 2 } }, {
      storage,
      states,
    });
    const blocking: number[] = [];
    const background: number[] = [];
    let allocationsAfterFirst = 0;
    for (let step = 1; step <= 3; step++) {
      const r = await m.save(step);
      const t = await r.done;
      blocking.push(r.blockingMs);
      background.push(t.backgroundMs);
      if (step === 1) allocationsAfterFirst = m.stagingAllocations;
    }
    await m.close();
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[1];
    rows.push([
      mode,
      `${totalMiB} MiB`,
      ms(median(blocking)),
      ms(median(background)),
      mode === "async_with_pinned_mem" ? String(m.stagingAllocations - allocationsAfterFirst) : "-",
    ]);
  }
  const seedStart = performance.now();
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const meta = await createSeedCheckpoint(new FileStorage(join(root, "seed")), {
    model: "llama3",
    flavor: seedFlavor,
    dtype: "bfloat16",
  });
  const seedMs = performance.now() - seedStart;
  let seedBytes = 0;
  for (const e of meta.stateDictMetadata.values()) {
    if (e.kind === "tensor") seedBytes += e.size.reduce((a, b) => a * b, 2);
  }
  const sync = rows[0];
  const table = [
    `## manager (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, median of 3 saves)`,
    "",
    "Machine: 2 shared cores (other engineers' jobs running); FileStorage with fsync on the local disk.",
    "",
    `\`npx deno run -A bench/manager.bench.ts ${stateMiB} ${seedFlavor}\``,
    "",
    "| async_mode | state | blocking ms | background ms | staging allocations after the first save |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `async blocking / synchronous save: ${(Number(rows[1][2]) / Number(sync[2]) * 100).toFixed(1)}% (async), ` +
    `${(Number(rows[2][2]) / Number(sync[2]) * 100).toFixed(1)}% (async_with_pinned_mem).`,
    "",
    `seed llama3 ${seedFlavor} bfloat16: ${(seedBytes / 2 ** 20).toFixed(0)} MiB in ${ms(seedMs)} ms ` +
    `(${(seedBytes / 2 ** 20 / (seedMs / 1000)).toFixed(1)} MiB/s), peak RSS growth ${
      ((peakRss - rssBefore) / 2 ** 20).toFixed(0)
    } MiB.`,
    "",
  ].join("\n");
  console.log(table);
  await appendFile(new URL("./RESULTS.md", import.meta.url), `\n${table}`);
} finally {
  clearInterval(sampler);
  await rm(root, { recursive: true, force: true });
}
