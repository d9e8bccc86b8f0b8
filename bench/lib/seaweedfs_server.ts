/**
 * The benchmarks' third S3-compatible server, and the one built to run in production: SeaweedFS (`weed mini`:
 * master, volume server, filer and S3 gateway in one process, bench/go/seaweedfs, built and cached by its
 * build.sh) on 127.0.0.1, storing objects in a temporary folder on disk as a deployment would. With no
 * identities configured it checks no signatures. On the 2-core bench machine its write path took about 140 MB/s
 * (bench/RESULTS.md, 2026-12-06 06:04), and every contender waits on it. Bench only: no test or CI needs Go.
 */
import type { BenchS3Server } from "./s3_server.ts";
import { freePort, s3Env } from "../../test/storage/s3/moto_server.ts";

/** Seconds the server may take to answer its first request. */
const START_SECONDS = 60;

/**
 * Builds (once; cached under ~/.cache/webdcp/) and starts `weed mini` with `buckets` made, every service of it on
 * a free port of 127.0.0.1 (SeaweedFS would put each gRPC port 10000 above its HTTP one, which can pass 65535, so
 * those are chosen too; the admin server's legacy port is off).
 */
export async function startSeaweedfs(buckets: string[]): Promise<BenchS3Server> {
  const built = await new Deno.Command("bash", { args: ["bench/go/seaweedfs/build.sh"], stderr: "inherit" }).output();
  if (!built.success) throw new Error("bench/go/seaweedfs/build.sh failed (is Go installed?)");
  const binary = new TextDecoder().decode(built.stdout).trim();
  const dir = await Deno.makeTempDir({ prefix: "webdcp-seaweedfs-" });
  const port = await freePort();
  const services = ["master", "volume", "filer", "admin"].flatMap((s) => [`${s}.port`, `${s}.port.grpc`]);
  const flags = await Promise.all(
    [...services, "webdav.port", "s3.port.grpc"].map(async (flag) => `-${flag}=${await freePort()}`),
  );
  const child = new Deno.Command(binary, {
    args: [
      "mini",
      `-dir=${dir}`,
      "-ip=127.0.0.1",
      "-ip.bind=127.0.0.1",
      `-bucket=${buckets.join(",")}`,
      `-s3.port=${port}`,
      ...flags,
      "-admin.port.legacy=0",
      "-admin.ui=false",
      "-webdav=false",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: "AKIABENCHSEAWEEDFS00", secretAccessKey: "bench-secret" };
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await untilBucketsAnswer(endpoint, buckets, child.status);
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
  return { endpoint, credentials, env: s3Env(endpoint, credentials), pid: child.pid, stop };
}

/** Waits until a GET of each bucket answers 200 (the gateway is up and the buckets are made). */
async function untilBucketsAnswer(endpoint: string, buckets: string[], exited: Promise<Deno.CommandStatus>) {
  const gone = exited.then((s): never => {
    throw new Error(`weed mini exited (code ${s.code}) before its S3 gateway answered`);
  });
  gone.catch(() => {}); // once the buckets answer, the server's exit is stop()'s business
  const deadline = Date.now() + START_SECONDS * 1000;
  for (const bucket of buckets) {
    const get = () =>
      fetch(`${endpoint}/${bucket}?list-type=2&max-keys=1`).then(
        async (r) => (await r.body?.cancel(), r.ok),
        () => false,
      );
    while (!(await Promise.race([get(), gone]))) {
      if (Date.now() > deadline) throw new Error(`weed mini: bucket ${bucket} not served after ${START_SECONDS} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
