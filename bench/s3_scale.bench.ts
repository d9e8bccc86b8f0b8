/**
 * Issue #13's scaling figures: the bucket-to-bucket conversion of bench/s3.bench.ts (DCP -> bf16 safetensors,
 * here sharded with `--max-shard-size` so that there are files to share out) run on one machine and as 4
 * parts, `--part auto` taking the share from Slurm's SLURM_ARRAY_TASK_ID/COUNT, then `finalize`. The parts run
 * as a real `sbatch --array=0-3 --wait` on the single-node cluster of scripts/start-slurm.sh when that
 * starts, else as 4 processes given the same environment (the section says which). Each round runs both, in
 * alternating order; every part's time and bytes and the finalize cost are reported, and the outputs are
 * compared byte for byte (round 1).
 *
 * usage: deno run -A bench/s3_scale.bench.ts [CKPT_DIR] [ROUNDS]
 * Appends a section to bench/RESULTS.md.
 */
import { DATA_DIR, python } from "./lib/env.ts";
import { parseTimeV } from "./lib/measure.ts";
import { gib, memory, mib } from "./lib/results.ts";
import { loadAverage, machineLine, median } from "./lib/rounds.ts";
import { buildInstalledCli, WEBDCP } from "./lib/env.ts";
import { BUCKET, output, startS3Bench } from "./lib/s3_bench_env.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-1024m`;
const rounds = Number(Deno.args[1] ?? 2);
const PARTS = 4;
const CONVERT = ["--to", "safetensors", "--dtype", "bfloat16", "--max-shard-size", "64MB"];

const py = python();
await buildInstalledCli();
const bench = await startS3Bench(py, dir);
const url = (key: string) => `s3://${BUCKET}/${key}`;
const work = await Deno.makeTempDir({ prefix: "webdcp-s3-scale-" });
await Deno.chmod(work, 0o755);
const slurmConf = await startSlurm();
const how = slurmConf
  ? `sbatch --array=0-${PARTS - 1} --wait (single-node Slurm, scripts/start-slurm.sh)`
  : `${PARTS} processes with SLURM_ARRAY_TASK_ID/COUNT set (Slurm did not start)`;

interface PartRun {
  wallSeconds: number;
  peakRssBytes: number;
  startedAt: number;
  endedAt: number;
  bytes: number;
  files: number;
}
interface Round {
  one: { seconds: number; peak: number };
  /** From submitting the array to the last part's end (scheduling included). */
  array: number;
  parts: PartRun[];
  finalize: { seconds: number; peak: number; motoPeak: number };
}
const results: Round[] = [];
const loads: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const steps = [oneMachine, parts];
    if (round % 2) steps.reverse();
    const r: Partial<Round> = {};
    for (const step of steps) Object.assign(r, await step());
    loads.push(loadAverage());
    if (round === 0) await sameObjects("one", "parts");
    await bench.clear("one");
    await bench.clear("parts");
    results.push(r as Round);
    console.error(
      `round ${round + 1}: one machine ${r.one!.seconds.toFixed(1)} s; ${PARTS} parts ${r.array!.toFixed(1)} s ` +
        `(${r.parts!.map((p) => p.wallSeconds.toFixed(1)).join(", ")}); finalize ${r.finalize!.seconds.toFixed(2)} s`,
    );
  }
} finally {
  await bench.stop();
  await Deno.remove(work, { recursive: true });
}

async function oneMachine(): Promise<Pick<Round, "one">> {
  const m = await bench.measure([...WEBDCP, "convert", url("ckpt"), url("one"), ...CONVERT]);
  return { one: { seconds: m.wallSeconds, peak: m.peakRssBytes } };
}

async function parts(): Promise<Pick<Round, "array" | "parts" | "finalize">> {
  const job = `${work}/job.sh`;
  await Deno.writeTextFile(
    job,
    `#!/bin/bash
cd "$WEBDCP_ROOT"
start=$(date +%s.%N)
/usr/bin/time -v -o "$WEBDCP_WORK/part-$SLURM_ARRAY_TASK_ID.time" ${
      WEBDCP.join(" ")
    } convert "$WEBDCP_SRC" "$WEBDCP_DST" ${CONVERT.join(" ")} --part auto
echo "$start $(date +%s.%N)" >"$WEBDCP_WORK/part-$SLURM_ARRAY_TASK_ID.span"
`,
    { mode: 0o755 },
  );
  const env = {
    ...bench.env,
    WEBDCP_ROOT: Deno.cwd(),
    WEBDCP_WORK: work,
    WEBDCP_SRC: url("ckpt"),
    WEBDCP_DST: url("parts"),
  };
  const t0 = Date.now() / 1000;
  if (slurmConf) {
    const r = await new Deno.Command("sbatch", {
      args: [`--array=0-${PARTS - 1}`, "--wait", "-o", `${work}/task-%a.log`, job],
      env: { ...env, SLURM_CONF: slurmConf },
      stdout: "null",
    }).output();
    if (!r.success) throw new Error(`sbatch failed: ${await Deno.readTextFile(`${work}/task-0.log`).catch(() => "")}`);
  } else {
    const runs = Array.from({ length: PARTS }, (_, i) =>
      new Deno.Command(job, {
        env: { ...env, SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: String(PARTS) },
        stdout: "null",
      }).output());
    for (const r of await Promise.all(runs)) if (!r.success) throw new Error("a part failed");
  }
  const array = Date.now() / 1000 - t0;
  const out = bench.storage("parts");
  const partRuns: PartRun[] = [];
  for (let i = 0; i < PARTS; i++) {
    const time = parseTimeV(await Deno.readTextFile(`${work}/part-${i}.time`));
    const [startedAt, endedAt] = (await Deno.readTextFile(`${work}/part-${i}.span`)).trim().split(" ").map(Number);
    const list = JSON.parse(new TextDecoder().decode(await out.readAll(`.webdcp-part-${i}-of-${PARTS}.files.json`)));
    const sizes = (list.files as { size: number }[]).map((f) => f.size);
    partRuns.push({ ...time, startedAt, endedAt, bytes: sizes.reduce((a, b) => a + b, 0), files: sizes.length });
  }
  const f = await bench.measure([...WEBDCP, "finalize", url("parts")]);
  return {
    array,
    parts: partRuns,
    finalize: { seconds: f.wallSeconds, peak: f.peakRssBytes, motoPeak: f.serverPeakRssBytes },
  };
}

async function sameObjects(a: string, b: string): Promise<void> {
  const [sa, sb] = [bench.storage(a), bench.storage(b)];
  const names = (await sa.list(""))!.map((e) => e.name);
  const other = (await sb.list(""))!.map((e) => e.name);
  if (names.join() !== other.join()) throw new Error(`different objects: ${names} vs ${other}`);
  for (const name of names) {
    const [x, y] = [await sa.readAll(name), await sb.readAll(name)];
    if (x.byteLength !== y.byteLength || !x.every((v, i) => v === y[i])) throw new Error(`${name} differs`);
  }
}

async function startSlurm(): Promise<string | undefined> {
  try {
    return await output(["bash", "scripts/start-slurm.sh"]);
  } catch (e) {
    console.error(`Slurm did not start (${(e as Error).message}); the parts run as plain processes`);
    return undefined;
  }
}

// The report: medians over rounds, every part of every round.
const source = await objectBytesOf(dir);
const med = (f: (r: Round) => number) => median(results.map(f));
const oneSeconds = med((r) => r.one.seconds);
const arraySeconds = med((r) => r.array);
const finalizeSeconds = med((r) => r.finalize.seconds);
const lines = [
  `| step | time (median of ${rounds}) | peak memory | bytes |`,
  "| --- | --- | --- | --- |",
  `| one machine: convert | ${oneSeconds.toFixed(1)} s | ${memory(med((r) => r.one.peak))} | ${gib(source)} read |`,
  `| ${PARTS} parts: ${how}, submit to last end | ${arraySeconds.toFixed(1)} s | - | - |`,
];
for (let i = 0; i < PARTS; i++) {
  const p = (r: Round) => r.parts[i];
  const t0 = (r: Round) => Math.min(...r.parts.map((q) => q.startedAt));
  lines.push(
    `| part ${i}/${PARTS} | ${med((r) => p(r).wallSeconds).toFixed(1)} s (ran ${
      med((r) => p(r).startedAt - t0(r)).toFixed(1)
    }-${med((r) => p(r).endedAt - t0(r)).toFixed(1)} s after the first start) | ${
      memory(med((r) => p(r).peakRssBytes))
    } | ${mib(results[0].parts[i].bytes)} in ${results[0].parts[i].files} shards written |`,
  );
}
lines.push(
  `| finalize | ${finalizeSeconds.toFixed(2)} s | ${memory(med((r) => r.finalize.peak))} (moto meanwhile ${
    memory(med((r) => r.finalize.motoPeak))
  }) | index + ${PARTS} part lists |`,
);
const stamp = new Date().toISOString().replace("T", " ").slice(0, 16);
const torchVersion = await output([py, "-c", "import torch; print(torch.__version__)"]);
const section =
  `\n## ${stamp} UTC: S3 scale-out (issue #13)\n\nCommand: \`deno run -A bench/s3_scale.bench.ts ${dir} ${rounds}\`\n\n` +
  `Machine: ${
    machineLine(`, torch ${torchVersion}, moto 5.2.5 server on loopback; load after each round ${loads.join(", ")}`)
  }\n\n` +
  `${
    gib(source)
  } 4-rank DCP (real torch) in the bucket -> bf16 safetensors shards of at most 64 MB, bucket to bucket; ` +
  `the ${PARTS}-part output equals the one-machine output byte for byte (checked in round 1). ` +
  `${PARTS} parts vs one machine: ${(oneSeconds / arraySeconds).toFixed(2)}x; finalize adds ${
    (100 * finalizeSeconds / arraySeconds).toFixed(1)
  }% to the array's time.\n\n${lines.join("\n")}\n`;
console.log(section);
const target = "bench/RESULTS.md";
await Deno.writeTextFile(target, `${(await Deno.readTextFile(target)).trimEnd()}\n${section}`);

async function objectBytesOf(local: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(local)) if (e.isFile) total += (await Deno.stat(`${local}/${e.name}`)).size;
  return total;
}
