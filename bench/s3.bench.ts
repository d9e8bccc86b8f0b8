/**
 * Issue #13's performance target, bucket to bucket against one S3 server on 127.0.0.1 at a time (moto, then
 * gofakes3, then SeaweedFS: see bench/lib/gofakes3_server.ts and seaweedfs_server.ts), every contender in every
 * round (shuffled order after the first), after a warm-up round that checks the outputs and is not counted:
 *  - `webdcp convert s3://bench/ckpt s3://bench/out/webdcp.safetensors --to safetensors --dtype bfloat16`,
 *    the installed command (bin/webdcp over dist/cli, rebuilt from this source first);
 *  - the PyTorch way through fsspec (bench/py/torch_convert_s3.py): `dcp.load` with FsspecReader (s3fs),
 *    `.to(bfloat16)`, `safetensors.torch.save`, upload with s3fs; both outputs must hold identical tensors;
 *  - `aws s3 cp --recursive` of the checkpoint bucket to bucket (pip awscli, its own venv): S3 copies
 *    server-side (CopyObject), so no byte passes through the client;
 *  - the same bytes through a client: `aws s3 cp --recursive` down to a RAM folder, then up again;
 *  - webdcp's own I/O floor (bench/s3_io_floor.ts): the checkpoint read and the output's size written through
 *    webdcp's S3 storage with no conversion, for a row with no target that shows what converting adds.
 * The checkpoint is a 4-rank DCP written by real torch (bench/py/make_checkpoint.py), uploaded once.
 *
 * The Python clients get no read timeout (`read_timeout`, `--cli-read-timeout 0`), as webdcp's fetch has none:
 * moto, on a loaded machine, takes longer than botocore's 60 s to assemble a large multipart upload.
 *
 * Times are whole processes (wall), but PyTorch's is its own report, without its imports (which only favours
 * PyTorch). Peak memory is each process's max RSS (`time -v`); moto's own peak while each contender ran is
 * read from /proc (VmHWM, reset before each step) and shown apart, since every contender shares the server.
 *
 * The servers differ in what a request costs: moto reads the whole object for every ranged GET (a client
 * pays per request times object size), gofakes3 slices the bytes it holds (a request costs its bytes and a
 * round trip, as on S3) but hashes every upload serially, twice for a multipart one. gofakes3 has no
 * UploadPartCopy, so there the bucket-to-bucket `aws s3 cp` copies each object with one CopyObject (awscli's
 * multipart threshold raised to 5 GB for that contender only). SeaweedFS is a production object store, its
 * objects on disk; awscli copies there as it would on S3 (UploadPartCopy above 8 MiB).
 *
 * usage: deno run -A bench/s3.bench.ts [CKPT_DIR] [ROUNDS] [SERVERS]
 * SERVERS: a comma-separated list of moto, gofakes3, seaweedfs (default: all three, or moto alone where Go is
 * not installed).
 * Appends its table to bench/RESULTS.md (through bench/run.sh's BENCH_RESULTS when run from there).
 */
import { buildInstalledCli, DATA_DIR, python, WEBDCP } from "./lib/env.ts";
import type { Measured } from "./lib/measure.ts";
import { type BenchRow, gib, memory, recordRows } from "./lib/results.ts";
import { loadAverage, machineLine, median, medianAndBest, pairedRatio, shuffled } from "./lib/rounds.ts";
import { AWS_SINGLE_COPY_CONFIG } from "./lib/gofakes3_server.ts";
import {
  BUCKET,
  objectBytes,
  output,
  run,
  S3_SERVERS,
  type S3Bench,
  type S3ServerKind,
  SERVER_LINES,
  startS3Bench,
} from "./lib/s3_bench_env.ts";

const dir = Deno.args[0] ?? `${DATA_DIR}/llama-1024m`;
const rounds = Number(Deno.args[1] ?? 3);
const servers = (Deno.args[2] ?? defaultServers()).split(",") as S3ServerKind[];
if (servers.some((k) => !S3_SERVERS.includes(k))) throw new Error(`SERVERS: a list of ${S3_SERVERS.join(", ")}`);
const SPEEDUP_TARGET = 3;
const MEMORY_TARGET = 4;
const COPY_SLOWDOWN_LIMIT = 1.5;
const ramDir = "/dev/shm/webdcp-s3-bench";

const py = python();
await buildInstalledCli();
const url = (key: string) => `s3://${BUCKET}/${key}`;
const ours = "webdcp convert";
const torch = "torch (fsspec)";
const ioFloor = "webdcp's S3 storage, no conversion";
const awsConfig = await Deno.makeTempFile({ prefix: "webdcp-aws-config-" });
await Deno.writeTextFile(awsConfig, AWS_SINGLE_COPY_CONFIG);

interface Contender {
  name: string;
  cmd: string[];
  /** Environment on top of the server's. */
  env?: Record<string, string>;
  /** Key prefix (or object) of its output, removed after each measurement. */
  output: string;
  /** Seconds of a run: the process's wall time unless it reports its own. */
  seconds: (m: Measured) => number;
}
const wall = (m: Measured) => m.wallSeconds;
const reported = (m: Measured) => m.report.seconds as number;
type Run = Measured & { serverPeakRssBytes: number };

const rows: BenchRow[] = [];
const loads: number[] = [];
let awsVersion = "";
for (const kind of servers) {
  const bench = await startS3Bench(py, dir, kind);
  try {
    rows.push(...await benchOn(bench));
    awsVersion ||= await output([bench.aws, "--version"]);
  } finally {
    await bench.stop();
  }
}
await Deno.remove(awsConfig);
await recordRows(rows);
if (!Deno.env.get("BENCH_RESULTS")) {
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const torchVersion = await output([py, "-c", "import torch; print(torch.__version__)"]);
  await run([
    Deno.execPath(),
    "run",
    "-A",
    "bench/report.ts",
    file,
    `deno run -A bench/s3.bench.ts ${dir} ${rounds} ${servers.join(",")}`,
    machineLine(
      `, torch ${torchVersion}, ${awsVersion}; servers: ${servers.map((k) => SERVER_LINES[k]).join("; ")}; ` +
        `load during the runs ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`,
    ),
  ]);
  await Deno.remove(file);
}

/** Every contender once a round on `bench`'s server; the rows of the targets. */
async function benchOn(bench: S3Bench): Promise<BenchRow[]> {
  const source = await objectBytes(bench.storage("ckpt"));
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
      env: bench.kind === "gofakes3" ? { AWS_CONFIG_FILE: awsConfig } : undefined,
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
    {
      name: ioFloor,
      cmd: [
        Deno.execPath(),
        "run",
        "-A",
        "bench/s3_io_floor.ts",
        url("ckpt"),
        url("out/floor.bin"),
        String(floorBytes(source)),
      ],
      output: "out/floor.bin",
      seconds: wall,
    },
  ];

  const runs = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
  // Round 0 checks every output and is not counted: a fresh server's first objects cost it fresh memory, which
  // this VM makes slow to touch (whoever ran first paid up to twice its time).
  for (let round = 0; round <= rounds; round++) {
    const order = round === 0 ? contenders : shuffled(contenders, round);
    for (const c of order) {
      const m = await bench.measure(c.cmd, c.env);
      if (round > 0) {
        runs.get(c.name)!.push(m);
        loads.push(loadAverage());
      }
      console.error(
        `${bench.kind} ${round === 0 ? "warm-up round" : `round ${round}/${rounds}`}: ${c.name} ` +
          `${c.seconds(m).toFixed(2)} s ` +
          `(wall ${m.wallSeconds.toFixed(2)}), peak ${memory(m.peakRssBytes)}, ` +
          `server ${memory(m.serverPeakRssBytes)}, load ${loadAverage()}`,
      );
      if (round === 0) await check(bench, c, source);
      // Round 1 keeps PyTorch's output until webdcp's is compared with it.
      if (round > 0 || c.name !== torch) await bench.clear(c.output);
    }
    if (round === 0) await bench.clear("out");
  }

  const times = (name: string) => {
    const c = contenders.find((x) => x.name === name)!;
    return runs.get(name)!.map(c.seconds);
  };
  const peak = (name: string) => median(runs.get(name)!.map((m) => m.peakRssBytes));
  const serverPeak = (name: string) => median(runs.get(name)!.map((m) => m.serverPeakRssBytes));
  const peaks = (a: string, b: string) =>
    `${memory(peak(a))} vs ${memory(peak(b))} (${bench.kind} server meanwhile: ${memory(serverPeak(a))} vs ${
      memory(serverPeak(b))
    })`;
  const what = `${gib(source.bytes)} DCP (4 ranks, ${source.objects} objects) in ${bench.kind} on loopback -> ` +
    "bf16 safetensors";

  const out: BenchRow[] = [];
  const speedup = 1 / pairedRatio(times(ours), times(torch));
  const memorySaving = peak(torch) / peak(ours);
  out.push({
    benchmark: `webdcp convert s3 -> s3: ${what}`,
    webdcp: medianAndBest(times(ours)),
    baseline: `dcp.load(FsspecReader) + .to(bf16) + save + s3fs upload ${medianAndBest(times(torch))}, ` +
      `wall with imports ${medianAndBest(runs.get(torch)!.map(wall))}`,
    ratio: `${speedup.toFixed(2)}x faster, ${memorySaving.toFixed(2)}x less memory`,
    peakMemory: peaks(ours, torch),
    target: `>= ${SPEEDUP_TARGET}x faster with <= 1/${MEMORY_TARGET} of the peak memory`,
    met: speedup >= SPEEDUP_TARGET && memorySaving >= MEMORY_TARGET,
    raw: { dir, server: bench.kind, rounds, loads, ours: runs.get(ours), torch: runs.get(torch) },
  });
  for (const copy of ["aws s3 cp --recursive", "aws s3 cp down + up"]) {
    const slowdown = pairedRatio(times(ours), times(copy));
    out.push({
      benchmark: `webdcp convert s3 -> s3 against ${copy} of the checkpoint (${gib(source.bytes)}) in ${bench.kind}`,
      webdcp: medianAndBest(times(ours)),
      baseline: `${copy} ${medianAndBest(times(copy))}`,
      ratio: `${slowdown.toFixed(2)}x ${copy}'s time`,
      peakMemory: peaks(ours, copy),
      target: `within ${COPY_SLOWDOWN_LIMIT}x of ${copy}`,
      met: slowdown <= COPY_SLOWDOWN_LIMIT,
      raw: { dir, server: bench.kind, rounds, loads, ours: runs.get(ours), baseline: runs.get(copy) },
    });
  }
  out.push({
    benchmark: `webdcp convert s3 -> s3 against moving the same bytes through webdcp's own S3 storage ` +
      `without converting (bench/s3_io_floor.ts) in ${bench.kind}`,
    webdcp: medianAndBest(times(ours)),
    baseline: `reads of the checkpoint + a write of the output's size ${medianAndBest(times(ioFloor))}`,
    ratio: `${pairedRatio(times(ours), times(ioFloor)).toFixed(2)}x the I/O floor's time`,
    peakMemory: peaks(ours, ioFloor),
    target: "none: what the conversion adds to its storage's own I/O",
    met: undefined,
    raw: { dir, server: bench.kind, rounds, loads, ours: runs.get(ours), baseline: runs.get(ioFloor) },
  });
  return out;
}

/** The warm-up round: webdcp's tensors equal PyTorch's; the copies hold the checkpoint's bytes; the floor wrote its size. */
async function check(bench: S3Bench, c: Contender, source: { bytes: number; objects: number }): Promise<void> {
  if (c.name === ours) {
    await run(
      [py, "bench/py/s3_same_tensors.py", url("out/webdcp.safetensors"), url("out/torch.safetensors")],
      bench.env,
    );
  } else if (c.name === ioFloor) {
    const written = (await bench.storage("out").stat("floor.bin"))?.size;
    if (written !== floorBytes(source)) throw new Error(`the I/O floor wrote ${written} bytes`);
  } else if (c.name !== torch) {
    const copied = await objectBytes(bench.storage(c.output));
    if (copied.bytes !== source.bytes || copied.objects !== source.objects) {
      throw new Error(`${c.name} copied ${copied.objects} objects of ${copied.bytes} bytes, not ${source.bytes}`);
    }
  }
}

/** What the I/O floor writes: the bf16 output of float32 tensors is half their bytes (headers differ by KiBs). */
function floorBytes(source: { bytes: number }): number {
  return Math.round(source.bytes / 2);
}

/** Every server, or moto alone (with a note) where there is no Go to build the others with. */
function defaultServers(): string {
  try {
    if (new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" }).outputSync().success) {
      return S3_SERVERS.join(",");
    }
  } catch {
    // No `go` on PATH.
  }
  console.error("s3.bench: no Go toolchain, so no gofakes3 or SeaweedFS server (bench/go): moto only");
  return "moto";
}
