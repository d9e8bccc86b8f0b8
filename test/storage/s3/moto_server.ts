import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { AwsClient } from "aws4fetch";
import type { S3Credentials } from "../../../src/storage/s3/mod.ts";

/** A real S3 API server (moto, from the pinned Python peers) on 127.0.0.1, checking SigV4 signatures. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** An IAM user's key that moto accepts; any other key is refused. */
  credentials: S3Credentials;
  /** Makes a bucket. */
  createBucket(name: string): Promise<void>;
  /** The environment that points AWS tools (webdcp's CLI, s3fs) at this server with `credentials`. */
  env: Record<string, string>;
  /** The server's process id (benchmarks read its peak memory from /proc). */
  pid: number;
  stop(): Promise<void>;
}

/** Requests moto serves before it starts checking signatures: the three IAM calls of py/moto_user.py. */
const BOOTSTRAP_ACTIONS = 3;

/**
 * Starts `moto_server` from the venv of `python` on a free port, with authentication on, and creates the IAM
 * user whose key the tests sign with. Multipart parts may be as small as `minPartSize` (moto's
 * S3_UPLOAD_PART_MIN_SIZE), so tests exercise multipart uploads without writing 5 MiB parts.
 */
export async function startMoto(python: string, minPartSize = 64 << 10): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(`${dirname(python)}/moto_server`, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      ...process.env,
      INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_ACTIONS),
      S3_UPLOAD_PART_MIN_SIZE: String(minPartSize),
    },
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitUntilUp(endpoint, child, () => stderr);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  const credentials = JSON.parse(
    execFileSync(python, [new URL("./py/moto_user.py", import.meta.url).pathname, endpoint], { encoding: "utf8" }),
  ) as S3Credentials;
  const aws = new AwsClient({ ...credentials, service: "s3", region: "us-east-1" });
  return {
    endpoint,
    credentials,
    env: s3Env(endpoint, credentials),
    pid: child.pid!,
    async createBucket(name) {
      const r = await aws.fetch(`${endpoint}/${name}`, { method: "PUT" });
      if (!r.ok) throw new Error(`creating bucket ${name}: HTTP ${r.status} ${await r.text()}`);
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitUntilUp(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr()}`);
    // moto answers its own dashboard path without counting it as an authenticated action.
    const up = await fetch(`${endpoint}/moto-api/`).then((r) => (r.body?.cancel(), true), () => false);
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not start: ${stderr()}`);
}

/** A port nobody listens on right now. */
/** The standard AWS environment that points a process (the CLI, awscli, s3fs) at a local S3 server. */
export function s3Env(endpoint: string, credentials: S3Credentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL: endpoint,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
