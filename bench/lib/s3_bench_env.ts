/**
 * What the S3 benchmarks share: a real S3 API server on loopback (moto, as the tests start it, gofakes3 or
 * SeaweedFS: bench/lib/gofakes3_server.ts, seaweedfs_server.ts) with one bucket holding a DCP checkpoint that
 * real torch wrote, the bench-only awscli venv, and the server's peak memory per measured step (it is shared by
 * every contender, so it is reported apart).
 */
import { type MotoServer, startMoto } from "../../test/storage/s3/moto_server.ts";
import { S3Storage } from "../../src/storage/s3/mod.ts";
import type { S3Credentials } from "../../src/storage/s3/mod.ts";
import { startGofakes3 } from "./gofakes3_server.ts";
import { startSeaweedfs } from "./seaweedfs_server.ts";
import type { BenchS3Server } from "./s3_server.ts";
import { measure, type Measured } from "./measure.ts";

export const BUCKET = "bench";

/** The S3 servers a bench can run against. */
export const S3_SERVERS = ["moto", "gofakes3", "seaweedfs"] as const;
export type S3ServerKind = typeof S3_SERVERS[number];

/** Which S3 server a bench runs against, in words for its report. */
export const SERVER_LINES: Record<S3ServerKind, string> = {
  moto: "moto 5.2.5 server (reads the whole object for every ranged GET)",
  gofakes3: "gofakes3 v1.2.0 in-memory server (a ranged GET costs its bytes)",
  seaweedfs: "SeaweedFS 4.53 (`weed mini`, objects on disk; a production object store)",
};

export interface S3Bench {
  kind: S3ServerKind;
  server: { endpoint: string; credentials: S3Credentials; pid: number };
  /** `aws` of the bench-only awscli venv (bench/py/awscli_venv.sh). */
  aws: string;
  /** The environment every contender runs with: the server's endpoint and a key it accepts. */
  env: Record<string, string>;
  /** A storage on `s3://bench/<prefix>`. */
  storage(prefix: string): S3Storage;
  /** Runs `cmd` under `time -v` with `env` (and `extraEnv`), and the server's peak RSS while it ran. */
  measure(cmd: string[], extraEnv?: Record<string, string>): Promise<Measured & { serverPeakRssBytes: number }>;
  /** Removes the object or everything under `s3://bench/<prefix>` (no error when there is nothing). */
  clear(prefix: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the server (moto with S3's real 5 MiB minimum part size, gofakes3 or SeaweedFS), makes the bucket and
 * uploads the local DCP folder `ckptDir` (written by real torch, bench/py/make_checkpoint.py) to
 * `s3://bench/ckpt` with awscli.
 */
export async function startS3Bench(python: string, ckptDir: string, kind: S3ServerKind = "moto"): Promise<S3Bench> {
  const aws = `${await output(["bash", "bench/py/awscli_venv.sh"])}/bin/aws`;
  const start: Record<S3ServerKind, () => Promise<BenchS3Server>> = {
    moto: () => startMotoWithBucket(python),
    gofakes3: () => startGofakes3([BUCKET]),
    seaweedfs: () => startSeaweedfs([BUCKET]),
  };
  const server = await start[kind]();
  const env = { ...server.env, NO_COLOR: "1" };
  const storage = (prefix: string) =>
    new S3Storage({ bucket: BUCKET, prefix, endpoint: server.endpoint, credentials: server.credentials, env: {} });
  await run([aws, "s3", "cp", "--recursive", "--quiet", ckptDir, `s3://${BUCKET}/ckpt`], env);
  return {
    kind,
    server,
    aws,
    env,
    storage,
    async measure(cmd, extraEnv = {}) {
      const reset = resetPeak(server.pid);
      const m = await measure(cmd, { env: { ...env, ...extraEnv } });
      const serverPeakRssBytes = peakRss(server.pid);
      return { ...m, serverPeakRssBytes: reset ? serverPeakRssBytes : NaN };
    },
    async clear(prefix) {
      await storage("").remove(prefix, { recursive: true }).catch((e) => {
        if (e?.code !== "E_NOT_FOUND") throw e;
      });
    },
    stop: () => server.stop(),
  };
}

/** moto with S3's real 5 MiB minimum part size, and the bucket. */
async function startMotoWithBucket(python: string): Promise<MotoServer> {
  const moto = await startMoto(python, 5 << 20);
  await moto.createBucket(BUCKET);
  return moto;
}

/** Total bytes of the objects under `s3://bench/<prefix>`, with their count. */
export async function objectBytes(s: S3Storage, dir = ""): Promise<{ bytes: number; objects: number }> {
  let bytes = 0;
  let objects = 0;
  for (const e of (await s.list(dir)) ?? []) {
    const path = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.kind === "dir") {
      const sub = await objectBytes(s, path);
      bytes += sub.bytes;
      objects += sub.objects;
    } else {
      bytes += (await s.stat(path))!.size;
      objects++;
    }
  }
  return { bytes, objects };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses (not root). */
function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function peakRss(pid: number): number {
  const kib = /VmHWM:\s*(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
  return Number(kib) * 1024;
}

export async function run(cmd: string[], env?: Record<string, string>): Promise<void> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), env, stdout: "null", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`'${cmd.join(" ")}' failed (exit ${r.code})`);
}

export async function output(cmd: string[], env?: Record<string, string>): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), env, stdout: "piped", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`'${cmd.join(" ")}' failed (exit ${r.code})`);
  return new TextDecoder().decode(r.stdout).trim();
}
