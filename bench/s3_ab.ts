/**
 * Paired A/B rounds of webdcp variants, each converting the bench checkpoint bucket to bucket (bf16
 * safetensors) on one S3 server (gofakes3 unless SERVER says otherwise: bench/lib/s3_bench_env.ts): the tool behind the S3 changes in
 * bench/RESULTS.md. A variant is a bundled CLI (a checkout's `src/cli/main.ts` and its convert command,
 * bundled into a folder of its own) plus optional extra arguments; every round runs every variant once, in a
 * shuffled order. Per run it prints wall time, the CLI's user and system CPU and peak RSS (`time -v`), the
 * server's CPU meanwhile (/proc), and the load average; at the end the medians and each variant's ratio to
 * the first one within each round. On a shared machine the CPU figures are steadier than the wall times.
 *
 * usage: deno run -A bench/s3_ab.ts ROUNDS NAME=CLI_DIR[|EXTRA ARGS] ...   (CKPT=dir: another checkpoint;
 * SERVER=seaweedfs: that server instead; RTT_MS=20: a round trip of that long in front of the server, through
 * bench/lib/latency_proxy.ts, as an object store across a network has)
 * e.g., with a variant bundled from each of two checkouts:
 *   deno bundle --platform=deno --format=esm --outdir=/tmp/a src/cli/main.ts src/cli/commands/convert.ts
 *   deno run -A bench/s3_ab.ts 6 before=/tmp/a after=/tmp/b "after-cpu=/tmp/b|--engine cpu"
 */
import { DATA_DIR, python } from "./lib/env.ts";
import { measure } from "./lib/measure.ts";
import { loadAverage, median, shuffled } from "./lib/rounds.ts";
import { type S3ServerKind, startS3Bench } from "./lib/s3_bench_env.ts";
import { startLatencyProxy } from "./lib/latency_proxy.ts";

const rounds = Number(Deno.args[0]);
const variants = Deno.args.slice(1).map((spec) => {
  const [name, rest] = spec.split("=");
  const [dir, extra] = rest.split("|");
  return { name, dir, extra: extra ? extra.split(" ") : [] };
});
const bench = await startS3Bench(
  python(),
  Deno.env.get("CKPT") ?? `${DATA_DIR}/llama-1024m`,
  (Deno.env.get("SERVER") ?? "gofakes3") as S3ServerKind,
);
const rtt = Number(Deno.env.get("RTT_MS") ?? 0);
const latency = rtt > 0 ? startLatencyProxy(bench.server.endpoint, rtt / 2) : undefined;
const env = latency ? { ...bench.env, AWS_ENDPOINT_URL: latency.endpoint } : bench.env;
/** CPU seconds (user + system) the server process has used so far. */
function serverCpu(): number {
  const f = Deno.readTextFileSync(`/proc/${bench.server.pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
const res = new Map<string, { wall: number; user: number; sys: number; rss: number; server: number }[]>(
  variants.map((v) => [v.name, []]),
);
try {
  for (let r = 0; r < rounds; r++) {
    for (const v of shuffled(variants, r + 1)) {
      const cpu0 = serverCpu();
      const m = await measure([
        Deno.execPath(),
        "run",
        "-A",
        `${v.dir}/main.js`,
        "convert",
        "s3://bench/ckpt",
        "s3://bench/out/p.safetensors",
        "--to",
        "safetensors",
        "--dtype",
        "bfloat16",
        ...v.extra,
      ], { env });
      const server = serverCpu() - cpu0;
      res.get(v.name)!.push({
        wall: m.wallSeconds,
        user: m.userSeconds,
        sys: m.systemSeconds,
        rss: m.peakRssBytes,
        server,
      });
      console.log(
        `round ${r + 1} ${v.name}: ${m.wallSeconds.toFixed(2)} s user ${m.userSeconds} sys ${m.systemSeconds} ` +
          `server ${server.toFixed(2)} ` +
          `rss ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB load ${loadAverage()}`,
      );
      await bench.clear("out");
    }
  }
} finally {
  await latency?.close();
  await bench.stop();
}
const base = variants[0].name;
for (const v of variants) {
  const xs = res.get(v.name)!;
  const ratios = xs.map((x, i) => x.wall / res.get(base)![i].wall);
  console.log(
    `${v.name}: wall median ${median(xs.map((x) => x.wall)).toFixed(2)} best ${
      Math.min(...xs.map((x) => x.wall)).toFixed(2)
    } user ${median(xs.map((x) => x.user)).toFixed(2)} sys ${median(xs.map((x) => x.sys)).toFixed(2)} server ${
      median(xs.map((x) => x.server)).toFixed(2)
    } rss ${(median(xs.map((x) => x.rss)) / 2 ** 20).toFixed(0)} MiB; /${base} median ${median(ratios).toFixed(3)} [${
      ratios.map((x) => x.toFixed(2)).join(" ")
    }]`,
  );
}
