/**
 * Issue #13's performance target, bucket to bucket against one moto S3 server on 127.0.0.1, every contender
 * in every round (shuffled order after the first):
 *  - `webdcp convert s3://bench/ckpt s3://bench/out/webdcp.safetensors --to safetensors --dtype bfloat16`,
 *    the installed command (bin/webdcp over dist/cli, rebuilt from this source first);
 *  - the PyTorch way through fsspec (bench/py/torch_convert_s3.py): `dcp.load` with FsspecReader (s3fs),
 *    `.to(bfloat16)`, `safetensors.torch.save`, upload with s3fs; both outputs must hold identical tensors;
 *  - `aws s3 cp --recursive` of the checkpoint bucket to bucket (pip awscli, its own venv): S3 copies
 *    server-side (CopyObject), so no byte passes through the client;
 *  - the same bytes through a client: `aws s3 cp --recursive` down to a RAM folder, then up again.
 * The checkpoint is a 4-rank DCP written by real torch (bench/py/make_checkpoint.py), uploaded once.
 *
 * The Python clients get no read timeout (`read_timeout`, `--cli-read-timeout 0`), as webdcp's fetch has none:
 * moto, on a loaded machine, takes longer than botocore's 60 s to assemble a large multipart upload.
 *
 * Times are whole processes (wall), but PyTorch's is its own report, without its imports (which only favours
 * PyTorch). Peak memory is each process's max RSS (`time -v`); moto's own peak while each contender ran is
 * read from /proc (VmHWM, reset before each step) and shown apart, since every contender shares the server.
 *
 * usage: deno run -A bench/s3.bench.ts [CKPT_DIR] [ROUNDS]
 * Appends its table to bench/RESULTS.md (through bench/run.sh's BENCH_RESULTS when run from there).
 */
import { DATA_DIR, python } from "./lib/env.ts";
import type { Measured } from "./lib/measure.ts";
import { type BenchRow, gib, memory, recordRows } from "./lib/results.ts";
import { loadAverage, machineLine, median, medianAndBest, pairedRatio, shuffled } from "./lib/rounds.ts";
import { BUCKET, buildInstalledCli, objectBytes, output, run, startS3Bench, WEBDCP } from "./lib/s3_bench_env.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-1024m`;
const rounds = Number(Deno.args[1] ?? 3);
const SPEEDUP_TARGET = 3;
const MEMORY_TARGET = 4;
const COPY_SLOWDOWN_LIMIT = 1.5;
const ramDir = "/dev/shm/webdcp-s3-bench";

const py = python();
await buildInstalledCli();
const bench = await startS3Bench(py, dir);
const url = (key: string) => `s3://${BUCKET}/${key}`;
const ours = "webdcp convert";
const torch = "torch (fsspec)";

interface Contender {
  name: string;
  cmd: string[];
  /** Key prefix (or object) of its output, removed after each measurement. */
  output: string;
  /** Seconds of a run: the process's wall time unless it reports its own. */
  seconds: (m: Measured) => number;
}
const wall = (m: Measured) => m.wallSeconds;
const reported = (m: Measured) => m.report.seconds as number;
const contenders: Contender[] = [
  {
    name: torch,
    cmd: [py, "bench/py/torch_convert_s3.py", url("ckpt"), url("out/torch.safetensors")],
    output: "out/torch.safetensors",
    seconds: reported,
  },
  {
    name: ours,
    cmd: [
      ...WEBDCP,
      "convert",
      url("ckpt"),
      url("out/webdcp.safetensors"),
      "--to",
      "safetensors",
      "--dtype",
      "bfloat16",
      "--json",
    ],
    output: "out/webdcp.safetensors",
    seconds: wall,
  },
  {
    name: "aws s3 cp --recursive",
    cmd: [bench.aws, "s3", "cp", "--recursive", "--quiet", "--cli-read-timeout", "0", url("ckpt"), url("out/copy")],
    output: "out/copy",
    seconds: wall,
  },
  {
    name: "aws s3 cp down + up",
    cmd: [
      "sh",
      "-c",
      `"$0" s3 cp --recursive --quiet --cli-read-timeout 0 "$1" "$2" && ` +
      `"$0" s3 cp --recursive --quiet --cli-read-timeout 0 "$2" "$3"; s=$?; rm -rf "$2"; exit $s`,
      bench.aws,
      url("ckpt"),
      ramDir,
      url("out/copy-client"),
    ],
    output: "out/copy-client",
    seconds: wall,
  },
];

const source = await objectBytes(bench.storage("ckpt"));
const runs = new Map<string, (Measured & { motoPeakRssBytes: number })[]>(contenders.map((c) => [c.name, []]));
const loads: number[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    const order = round === 0 ? contenders : shuffled(contenders, round);
    for (const c of order) {
      const m = await bench.measure(c.cmd);
      runs.get(c.name)!.push(m);
      loads.push(loadAverage());
      console.error(
        `round ${round + 1}/${rounds}: ${c.name} ${c.seconds(m).toFixed(2)} s (wall ${m.wallSeconds.toFixed(2)}), ` +
          `peak ${memory(m.peakRssBytes)}, moto ${memory(m.motoPeakRssBytes)}, load ${loadAverage()}`,
      );
      if (round === 0) await check(c);
      // Round 1 keeps PyTorch's output until webdcp's is compared with it.
      if (round > 0 || c.name !== torch) await bench.clear(c.output);
    }
    if (round === 0) await bench.clear("out");
  }
} finally {
  await bench.stop();
}

const times = (name: string) => {
  const c = contenders.find((x) => x.name === name)!;
  return runs.get(name)!.map(c.seconds);
};
const peak = (name: string) => median(runs.get(name)!.map((m) => m.peakRssBytes));
const motoPeak = (name: string) => median(runs.get(name)!.map((m) => m.motoPeakRssBytes));
const peaks = (a: string, b: string) =>
  `${memory(peak(a))} vs ${memory(peak(b))} (moto server meanwhile: ${memory(motoPeak(a))} vs ${memory(motoPeak(b))})`;
const what = `${gib(source.bytes)} DCP (4 ranks, ${source.objects} objects) in moto on loopback -> bf16 safetensors`;

const rows: BenchRow[] = [];
const speedup = 1 / pairedRatio(times(ours), times(torch));
const memorySaving = peak(torch) / peak(ours);
rows.push({
  benchmark: `webdcp convert s3 -> s3: ${what}`,
  webdcp: medianAndBest(times(ours)),
  baseline: `dcp.load(FsspecReader) + .to(bf16) + save + s3fs upload ${medianAndBest(times(torch))}, ` +
    `wall with imports ${medianAndBest(runs.get(torch)!.map(wall))}`,
  ratio: `${speedup.toFixed(2)}x faster, ${memorySaving.toFixed(2)}x less memory`,
  peakMemory: peaks(ours, torch),
  target: `>= ${SPEEDUP_TARGET}x faster with <= 1/${MEMORY_TARGET} of the peak memory`,
  met: speedup >= SPEEDUP_TARGET && memorySaving >= MEMORY_TARGET,
  raw: { dir, rounds, loads, ours: runs.get(ours), torch: runs.get(torch) },
});
for (const copy of ["aws s3 cp --recursive", "aws s3 cp down + up"]) {
  const slowdown = pairedRatio(times(ours), times(copy));
  rows.push({
    benchmark: `webdcp convert s3 -> s3 against ${copy} of the checkpoint (${gib(source.bytes)})`,
    webdcp: medianAndBest(times(ours)),
    baseline: `${copy} ${medianAndBest(times(copy))}`,
    ratio: `${slowdown.toFixed(2)}x ${copy}'s time`,
    peakMemory: peaks(ours, copy),
    target: `within ${COPY_SLOWDOWN_LIMIT}x of ${copy}`,
    met: slowdown <= COPY_SLOWDOWN_LIMIT,
    raw: { dir, rounds, loads, ours: runs.get(ours), baseline: runs.get(copy) },
  });
}
await recordRows(rows);
if (!Deno.env.get("BENCH_RESULTS")) {
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const torchVersion = await output([py, "-c", "import torch; print(torch.__version__)"]);
  const awsVersion = await output([bench.aws, "--version"]);
  await run([
    Deno.execPath(),
    "run",
    "-A",
    "bench/report.ts",
    file,
    `deno run -A bench/s3.bench.ts ${dir} ${rounds}`,
    machineLine(
      `, torch ${torchVersion}, ${awsVersion}, moto 5.2.5 server; load during the runs ` +
        `${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`,
    ),
  ]);
  await Deno.remove(file);
}

/** Round 1: webdcp's tensors equal PyTorch's; the copies hold the checkpoint's bytes. */
async function check(c: Contender): Promise<void> {
  if (c.name === ours) {
    await run(
      [py, "bench/py/s3_same_tensors.py", url("out/webdcp.safetensors"), url("out/torch.safetensors")],
      bench.env,
    );
  } else if (c.name !== torch) {
    const copied = await objectBytes(bench.storage(c.output));
    if (copied.bytes !== source.bytes || copied.objects !== source.objects) {
      throw new Error(`${c.name} copied ${copied.objects} objects of ${copied.bytes} bytes, not ${source.bytes}`);
    }
  }
}
