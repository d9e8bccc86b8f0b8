/**
 * The benchmarks' second S3-compatible server: gofakes3 with its in-memory backend (bench/go/s3server, built and
 * cached by its build.sh), on 127.0.0.1. It serves a ranged GET by slicing the stored bytes, so a request costs
 * a round trip plus its bytes, as on S3 or MinIO; moto instead reads the whole object for every ranged GET. It
 * checks no signatures, and has no UploadPartCopy (`aws s3 cp` between buckets must then copy each object
 * with one CopyObject: see `AWS_SINGLE_COPY_CONFIG`). Bench only: no test or CI needs Go.
 */
import type { BenchS3Server } from "./s3_server.ts";
import { s3Env } from "../../test/storage/s3/moto_server.ts";

/** Builds (once; cached under ~/.cache/webdcp/) and starts the server with `buckets` made. */
export async function startGofakes3(buckets: string[]): Promise<BenchS3Server> {
  const built = await new Deno.Command("bash", { args: ["bench/go/s3server/build.sh"], stderr: "inherit" }).output();
  if (!built.success) throw new Error("bench/go/s3server/build.sh failed (is Go installed?)");
  const binary = new TextDecoder().decode(built.stdout).trim();
  const child = new Deno.Command(binary, {
    args: ["-addr", "127.0.0.1:0", "-bucket", buckets.join(",")],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (\S+)\n/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`gofakes3 server exited before listening: ${text}`);
    text += value;
  }
  // Nothing more is printed; release the pipe.
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const endpoint = /listening on (\S+)\n/.exec(text)![1];
  const credentials = { accessKeyId: "AKIABENCHGOFAKES3000", secretAccessKey: "bench-secret" };
  return {
    endpoint,
    credentials,
    env: s3Env(endpoint, credentials),
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/**
 * An awscli config file's text that copies objects below 5 GiB with one CopyObject each (gofakes3 has no
 * UploadPartCopy, which awscli uses above its 8 MiB multipart threshold).
 */
export const AWS_SINGLE_COPY_CONFIG = "[default]\ns3 =\n  multipart_threshold = 5GB\n";
