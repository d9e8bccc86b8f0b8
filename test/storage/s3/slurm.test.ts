import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { S3Storage } from "../../../src/storage/s3/mod.ts";
import { python, ROOT, webdcp } from "./cli_run.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import { type MotoServer, startMoto } from "./moto_server.ts";

/**
 * A real single-node Slurm cluster (Debian's slurmctld, slurmd and munge, started by scripts/start-slurm.sh)
 * runs `webdcp convert --part auto` as a 4-task job array, bucket to bucket on a moto S3 server; `finalize`
 * commits; the result equals a one-machine conversion byte for byte and PyTorch loads it. Needs root and the
 * packages (CI installs them); without them the suite is skipped.
 */
const hasSlurm = process.getuid?.() === 0 &&
  spawnSync("sh", ["-c", "command -v sbatch && command -v slurmctld && command -v munged"]).status === 0;
const BUCKET = "ckpts";
const CONVERT = ["--to", "safetensors", "--dtype", "bfloat16", "--max-shard-size", "400KB"];

let moto: MotoServer;
let proxy: FaultProxy;
let dir: string;
let expected: string;
let slurmConf: string;

function bucket(prefix: string): S3Storage {
  return new S3Storage({ bucket: BUCKET, prefix, endpoint: moto.endpoint, credentials: moto.credentials, env: {} });
}

/** The array task's script: the same command line in every task, the share taken from Slurm's environment. */
const JOB = `#!/bin/bash
cd "$WEBDCP_ROOT"
# The task the test kills talks to S3 through the proxy that holds its upload.
if [ "$SLURM_ARRAY_TASK_ID" = "\${WEBDCP_HANG_TASK:-none}" ]; then export AWS_ENDPOINT_URL="$WEBDCP_PROXY"; fi
exec node_modules/deno/deno run -A src/cli/main.ts convert "$WEBDCP_SRC" "$WEBDCP_DST" ${
  CONVERT.join(" ")
} --part auto $WEBDCP_EXTRA
`;

function sbatchEnv(dst: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...process.env as Record<string, string>,
    ...moto.env,
    SLURM_CONF: slurmConf,
    WEBDCP_ROOT: ROOT,
    WEBDCP_SRC: `s3://${BUCKET}/ckpt`,
    WEBDCP_DST: `s3://${BUCKET}/${dst}`,
    WEBDCP_PROXY: proxy.endpoint,
    WEBDCP_EXTRA: "",
    ...extra,
  };
}

function sbatch(array: string, env: Record<string, string>): { code: number; out: string; err: string } {
  const r = spawnSync("sbatch", [
    `--array=${array}`,
    "--wait",
    "-o",
    nodePath.join(dir, "task-%A-%a.log"),
    nodePath.join(dir, "job.sh"),
  ], {
    env,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function sameObjects(a: string, b: string): Promise<void> {
  const [sa, sb] = [bucket(a), bucket(b)];
  const names = (await sa.list(""))!.map((e) => e.name);
  expect(names.filter((n) => n.endsWith(".safetensors")).length).toBeGreaterThanOrEqual(4);
  expect((await sb.list(""))!.map((e) => e.name)).toEqual(names);
  for (const name of names) {
    expect(Buffer.from(await sb.readAll(name)).equals(Buffer.from(await sa.readAll(name))), name).toBe(true);
  }
}

describe.skipIf(!hasSlurm)("Slurm job array: webdcp convert --part auto, bucket to bucket", () => {
  beforeAll(async () => {
    slurmConf = execFileSync("bash", [nodePath.join(ROOT, "scripts/start-slurm.sh")], { encoding: "utf8" }).trim();
    dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-slurm-"));
    fs.writeFileSync(nodePath.join(dir, "job.sh"), JOB, { mode: 0o755 });
    expected = nodePath.join(dir, "expected.pt");
    moto = await startMoto(inject("python"));
    await moto.createBucket(BUCKET);
    proxy = await startFaultProxy(moto.endpoint);
    python(
      inject("python"),
      "save_fsspec.py",
      [moto.endpoint, `s3://${BUCKET}/ckpt`, "2", "16384", expected, "6"],
      moto.env,
    );
    const one = await webdcp(["convert", `s3://${BUCKET}/ckpt`, `s3://${BUCKET}/one`, ...CONVERT], moto.env);
    if (one.code !== 0) throw new Error(`one-machine conversion failed: ${one.err}`);
  });
  afterAll(async () => {
    await proxy?.close();
    await moto?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    spawnSync("bash", [nodePath.join(ROOT, "scripts/start-slurm.sh"), "stop"]);
  });

  test("sbatch --array=0-3 --wait, then finalize: byte for byte the one-machine output, and torch loads it", async () => {
    const r = sbatch("0-3", sbatchEnv("array"));
    expect(r.code, r.err).toBe(0);
    // Each task wrote only its own share: four part lists before finalize.
    const parts = (await bucket("array").list(""))!.map((e) => e.name).filter((n) => n.endsWith(".files.json"));
    expect(parts).toEqual([0, 1, 2, 3].map((i) => `.webdcp-part-${i}-of-4.files.json`));
    const f = await webdcp(["finalize", `s3://${BUCKET}/array`], moto.env);
    expect(f.code, f.err).toBe(0);
    await sameObjects("one", "array");
    const loaded = python(inject("python"), "load_fsspec.py", [
      moto.endpoint,
      "safetensors-bf16",
      `s3://${BUCKET}/array`,
      expected,
    ], moto.env);
    expect(loaded).toMatchObject({ ok: true, errors: [] });
  });

  test("a killed array task fails finalize by name; rerunning that task alone gives the same result", async () => {
    let hung = false;
    proxy.decide = (req) => (req.method === "PUT" && !hung ? ((hung = true), { hang: true }) : undefined);
    const job = spawn("sbatch", [
      "--array=0-3",
      "--wait",
      "-o",
      nodePath.join(dir, "kill-%A-%a.log"),
      nodePath.join(dir, "job.sh"),
    ], {
      env: sbatchEnv("killed", { WEBDCP_HANG_TASK: "2" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    job.stdout!.on("data", (d) => (out += d));
    const exit = new Promise<number>((resolve) => job.once("exit", (code) => resolve(code ?? -1)));
    for (let i = 0; i < 1200 && !hung; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hung).toBe(true);
    const id = /Submitted batch job (\d+)/.exec(out)?.[1];
    expect(id).toBeDefined();
    execFileSync("scancel", [`${id}_2`], { env: { ...process.env, SLURM_CONF: slurmConf } });
    expect(await exit).not.toBe(0);
    proxy.decide = () => undefined;
    const f = await webdcp(["finalize", `s3://${BUCKET}/killed`], moto.env);
    expect(f.code).toBe(1);
    expect(f.err).toContain("part 2/4: has not finished");
    expect(await bucket("killed").stat("model.safetensors.index.json")).toBeUndefined();
    // One task alone: its own count is 1, so the command names the parts and the array id is the part.
    const again = sbatch("2", sbatchEnv("killed", { WEBDCP_EXTRA: "--parts 4" }));
    expect(again.code, again.err).toBe(0);
    const f2 = await webdcp(["finalize", `s3://${BUCKET}/killed`], moto.env);
    expect(f2.code, f2.err).toBe(0);
    await sameObjects("one", "killed");
  });
});
