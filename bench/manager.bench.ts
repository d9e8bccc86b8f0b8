/**
 * The manager's costs (issue 10): for a >= 512 MiB training state, what a synchronous save blocks against
 * what an `async` / `async_with_pinned_mem` save blocks (staging the snapshot), and what staging allocates
 * per steady-state save; then seed checkpoint speed and memory.
 *
 * The three modes save the same state in interleaved rounds (the order rotating each round), each save
 * finished before the next starts, so the ratios compare saves made a few seconds apart on the same disk.
 * Each manager first loads (a fresh start) and the program trains one step, as a training program starts
 * (`async_with_pinned_mem` prepares its staging memory meanwhile). Round 1 is each mode's first save; the
 * others are steady state. After each save
 * comes a training step: the thread idles `step` ms, as a program does while its GPU runs the forward and
 * backward passes, then calls `maybeWaitForStaging()`, as TorchTitan's trainer does before the optimizer
 * step. A save's blocking time is `save()`, plus that wait, plus how late the step ends (`async_with_pinned_mem`
 * copies host tensors on the program's thread during the step, which can hold the step up; the other modes
 * copy before `save()` returns). Each round also times the floor of a host
 * snapshot: the state copied with `set()` into buffers kept from the round before. Allocations are counted
 * two ways: the stager's count of buffers it created, and the growth of V8's external memory (ArrayBuffer
 * backing stores) from before `save()` to the end of the wait, after a full GC (`--expose-gc`). Steps are
 * kept (no purge runs beside the saves being timed) and removed at the end.
 *
 * `npx deno run -A --v8-flags=--expose-gc bench/manager.bench.ts [state MiB] [seed flavor] [rounds] [step ms]`
 * prints a table and appends it to bench/RESULTS.md.
 */
import process from "node:process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointManager, createSeedCheckpoint, FileStorage, type Stateful, type Tensor } from "../mod.ts";

const stateMiB = Number(process.argv[2] ?? 512);
const seedFlavor = process.argv[3] ?? "debugmodel";
const rounds = Number(process.argv[4] ?? 5);
const stepMs = Number(process.argv[5] ?? 250);
const TENSOR_MIB = 32;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc (external memory is measured after a full GC)");

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
const stateBuffers = [model, optimizer].flatMap((h) =>
  Object.values(h.stateDict() as Record<string, Tensor>).map((t) => t.data)
);
const floorBuffers = stateBuffers.map((b) => new Uint8Array(b.byteLength).fill(1));
const totalMiB = 2 * perHalf * TENSOR_MIB;

const MODES = ["disabled", "async", "async_with_pinned_mem"] as const;
type Mode = typeof MODES[number];
const root = await mkdtemp(join(tmpdir(), "webdcp-bench-manager-"));
const ms = (x: number) => x.toFixed(0);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const MiB = (b: number) => (b / 2 ** 20).toFixed(1).replace(/^-0\.0$/, "0.0");

try {
  const managers = new Map<Mode, CheckpointManager>(
    MODES.map((mode) => [
      mode,
      new CheckpointManager({ checkpoint: { enable: true, interval: 1, async_mode: mode, keep_latest_k: 0 } }, {
        storage: new FileStorage(join(root, mode)),
        states,
      }),
    ]),
  );
  const blocking = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const background = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const externalGrowth = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const allocations = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const floor: number[] = [];
  // As a training program starts: load (a fresh start here), then a first step before the first save.
  for (const m of managers.values()) await m.maybeLoad();
  await new Promise((resolve) => setTimeout(resolve, stepMs));
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    stateBuffers.forEach((b, i) => floorBuffers[i].set(b));
    floor.push(performance.now() - t0);
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
    for (const mode of order) {
      const m = managers.get(mode)!;
      gc();
      const external = process.memoryUsage().external;
      const r = await m.save(round);
      const stepStart = performance.now();
      await new Promise((resolve) => setTimeout(resolve, stepMs)); // the forward and backward passes on a GPU
      const late = performance.now() - stepStart - stepMs; // what staging on this thread held the program up
      await m.maybeWaitForStaging(); // then the optimizer step may change the state
      externalGrowth.get(mode)!.push(process.memoryUsage().external - external);
      const t = await r.done;
      blocking.get(mode)!.push(t.blockingMs + Math.max(0, late));
      background.get(mode)!.push(t.backgroundMs);
      allocations.get(mode)!.push(m.stagingAllocations);
    }
  }
  for (const m of managers.values()) await m.close();
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");

  const steady = (a: number[]) => a.slice(1);
  const sync = blocking.get("disabled")!;
  const ratios = (mode: Mode) => blocking.get(mode)!.map((b, i) => b / sync[i]);
  const rows = MODES.map((mode) => {
    const b = blocking.get(mode)!;
    const allocs = allocations.get(mode)!;
    return [
      mode,
      `${totalMiB} MiB`,
      ms(b[0]),
      ms(median(steady(b))),
      ms(median(steady(background.get(mode)!))),
      mode === "disabled" ? "-" : `${pct(ratios(mode)[0])} / ${pct(median(steady(ratios(mode))))}`,
      mode === "disabled" ? "-" : `${allocs[0]} / ${(allocs.at(-1)! - allocs[0]) / (rounds - 1)}`,
      `${MiB(externalGrowth.get(mode)![0])} / ${MiB(median(steady(externalGrowth.get(mode)!)))}`,
    ];
  });

  // Seed checkpoint: wall and CPU time against the bytes written, peak RSS growth.
  let peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const seedStart = performance.now();
  const meta = await createSeedCheckpoint(new FileStorage(join(root, "seed")), {
    model: "llama3",
    flavor: seedFlavor,
    dtype: "bfloat16",
  });
  const seedMs = performance.now() - seedStart;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  let seedBytes = 0;
  for (const e of meta.stateDictMetadata.values()) {
    if (e.kind === "tensor") seedBytes += e.size.reduce((a, b) => a * b, 2);
  }
  const cpuS = (cpu.user + cpu.system) / 1e6;

  const table = [
    `## manager (${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${rounds} interleaved rounds)`,
    "",
    `Machine: 2 cores shared with other engineers' jobs, load average ${load} at the end; Deno ${Deno.version.deno};`,
    "FileStorage with fsync on the local disk.",
    "",
    `\`npx deno run -A --v8-flags=--expose-gc bench/manager.bench.ts ${stateMiB} ${seedFlavor} ${rounds} ${stepMs}\``,
    "",
    `Blocking: \`save()\`, plus \`maybeWaitForStaging()\` after a ${stepMs} ms training step in which the thread`,
    "idles (a GPU's forward and backward passes), plus how late the step's end came (staging on the program's",
    "thread holds it up).",
    "",
    "| async_mode | state | blocking ms, first save | blocking ms, steady (median) | background ms, steady | " +
    "blocking / synchronous save of the same round: first / steady (median) | staging buffers: by the first save / " +
    "per steady save | external MiB grown while staging: first / steady |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `seed llama3 ${seedFlavor} bfloat16: ${MiB(seedBytes)} MiB in ${ms(seedMs)} ms wall ` +
    `(${(seedBytes / 2 ** 20 / (seedMs / 1000)).toFixed(1)} MiB/s), ${cpuS.toFixed(1)} s CPU ` +
    `(${(seedBytes / 2 ** 20 / cpuS).toFixed(1)} MiB per CPU second), peak RSS growth ${MiB(peakRss - rssBefore)} MiB.`,
    "",
    `Copy floor (the state \`set()\` into buffers kept from the round before), per round: ${
      floor.map(ms).join(", ")
    } ms;` +
    ` steady median ${ms(median(floor.slice(1)))} ms = ${pct(median(floor.slice(1)) / median(sync.slice(1)))} of the` +
    " steady synchronous save.",
    "",
  ].join("\n");
  console.log(table);
  await appendFile(new URL("./RESULTS.md", import.meta.url), `\n${table}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
