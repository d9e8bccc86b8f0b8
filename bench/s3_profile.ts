/**
 * What `webdcp convert` bucket to bucket asks of the S3 server: every request through a recording proxy (the
 * tests' fault proxy, injecting nothing) in front of the server (moto or gofakes3), summed up by kind, with a histogram of the GET
 * sizes and the multipart parts. The tool behind bench/s3.bench.ts's findings (requests per GB, ranged GETs
 * that a server pays per object).
 *
 * usage: deno run -A bench/s3_profile.ts [CKPT_DIR] [SERVER] [-- webdcp args...]   (SERVER: moto (default) or gofakes3)
 * With S3_PROFILE_TRACE=1 it also prints every request, in the order the server saw them.
 */
import { DATA_DIR, python } from "./lib/env.ts";
import { buildInstalledCli, WEBDCP } from "./lib/env.ts";
import { S3_SERVERS, type S3ServerKind, startS3Bench } from "./lib/s3_bench_env.ts";
import { startFaultProxy } from "../test/storage/s3/fault_proxy.ts";

const split = Deno.args.indexOf("--");
const positional = split < 0 ? Deno.args : Deno.args.slice(0, split);
const dir = positional[0] ?? `${DATA_DIR}/llama-1024m`;
const server = (positional[1] ?? "moto") as S3ServerKind;
if (!S3_SERVERS.includes(server)) throw new Error(`SERVER must be one of ${S3_SERVERS.join(", ")}`);
const args = split < 0
  ? ["convert", "s3://bench/ckpt", "s3://bench/out/p.safetensors", "--to", "safetensors", "--dtype", "bfloat16"]
  : Deno.args.slice(split + 1);

await buildInstalledCli();
const bench = await startS3Bench(python(), dir, server);
const proxy = await startFaultProxy(bench.server.endpoint);
const t0 = performance.now();
const r = await new Deno.Command(WEBDCP[0], {
  args: [...WEBDCP.slice(1), ...args],
  env: { ...bench.env, AWS_ENDPOINT_URL: proxy.endpoint },
  stdout: "inherit",
  stderr: "inherit",
}).output();
const seconds = (performance.now() - t0) / 1000;
await proxy.close();
await bench.stop();

if (Deno.env.get("S3_PROFILE_TRACE")) {
  for (const q of proxy.requests) console.log(`${q.method} ${q.url.split("?")[0]} ${q.range ?? ""}`);
}
const kinds = new Map<string, number>();
const sizes = new Map<string, number>();
for (const q of proxy.requests) {
  const kind = q.url.includes("partNumber=")
    ? "UploadPart"
    : q.url.includes("uploads")
    ? `${q.method} ?uploads`
    : q.method;
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  const m = q.range && /bytes=(\d+)-(\d+)/.exec(q.range);
  if (m) {
    const mib = (Number(m[2]) - Number(m[1]) + 1) / 2 ** 20;
    const bucket = mib < 1 ? "< 1 MiB" : mib < 8 ? "1-8 MiB" : mib < 32 ? "8-32 MiB" : ">= 32 MiB";
    sizes.set(bucket, (sizes.get(bucket) ?? 0) + 1);
  }
}
console.log(
  JSON.stringify({
    exit: r.code,
    seconds: Number(seconds.toFixed(1)),
    requests: Object.fromEntries(kinds),
    gets: Object.fromEntries(sizes),
  }),
);
