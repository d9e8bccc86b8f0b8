/**
 * examples/train under SIGKILL: killed at random moments and restarted until it finishes, every run ends
 * with exactly the checkpoint of a run never killed. Then torch loads that checkpoint into the same model.
 */
import { execFileSync, spawn } from "node:child_process";
import process from "node:process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDcp } from "../../src/dcp/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { batch, forward, type MlpParams, PARAM_NAMES } from "../../examples/train/mlp.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO = join(ROOT, "node_modules/deno/deno");
const STEPS = 40;
const SHAPE = { inputs: 32, hidden: 256, outputs: 8 };
/** The example's arguments for TorchTitan's asynchronous staging. */
const PINNED = ["--checkpoint.async_mode", "async_with_pinned_mem"];

interface Run {
  code: number | null;
  events: Record<string, unknown>[];
}

/**
 * One run of the example (`device`: its [training] device; `extra`: more of its arguments). With `kill`,
 * SIGKILL comes `kill.delayMs` after the run reports step `kill.afterStep`: wherever it then is (training,
 * staging, writing, committing).
 */
function run(
  dump: string,
  kill?: { afterStep: number; delayMs: number },
  device = "auto",
  extra: string[] = [],
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const args = [
      "run",
      "-A",
      "examples/train/train.ts",
      "--job.dump_folder",
      dump,
      "--training.steps",
      String(STEPS),
      "--training.device",
      device,
      ...extra,
    ];
    const child = spawn(DENO, args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp/webdcp-xdg-0" },
    });
    let out = "";
    let err = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on("data", (d) => {
      out += d;
      if (kill && timer === undefined && out.includes(`{"event":"step","step":${kill.afterStep},`)) {
        timer = setTimeout(() => child.kill("SIGKILL"), kill.delayMs);
      }
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0 && code !== null) return reject(new Error(`example failed (${code}): ${err}`));
      const events = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      resolve({ code, events });
    });
  });
}

/** Every tensor and value of a step folder, as bytes or JSON text. */
async function contents(dump: string, step: number): Promise<Map<string, string>> {
  const ckpt = await openDcp(new FileStorage(join(dump, "checkpoint")), `step-${step}`);
  const out = new Map<string, string>();
  for (const e of ckpt.entries()) {
    out.set(
      e.name,
      e.kind === "tensor"
        ? Buffer.from((await ckpt.readTensor(e.name)).data).toString("base64")
        : JSON.stringify(await ckpt.readValue(e.name), (_, v) => v instanceof Uint8Array ? [...v] : v),
    );
  }
  await ckpt.close();
  return out;
}

/** Kills and restarts the example `trials` times over; every trial must end with `reference`'s checkpoint. */
async function killTrials(
  dir: string,
  device: string,
  trials: number,
  reference: Map<string, string>,
  extra: string[] = [],
) {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  let kills = 0;
  let resumedMidway = 0;
  for (let trial = 0; trial < trials; trial++) {
    const dump = join(dir, `${device}-t${trial}`);
    let lastResumed = -1;
    for (let attempt = 0;; attempt++) {
      expect(attempt).toBeLessThan(40);
      // Later attempts are never killed, so every trial ends.
      const kill = { afterStep: 1 + Math.floor(random() * (STEPS - 1)), delayMs: random() * 30 };
      const r = await run(dump, attempt < 3 ? kill : undefined, device, extra);
      const resumed = r.events.find((e) => e.event === "resumed");
      if (resumed) {
        const at = (resumed.step as number | undefined) ?? 0;
        expect(at).toBeGreaterThanOrEqual(lastResumed); // never back to an older step
        if (at > 0 && at < STEPS) resumedMidway++;
        lastResumed = at;
      }
      if (r.code === 0) break;
      kills++;
    }
    expect(await contents(dump, STEPS), `trial ${trial}`).toEqual(reference);
  }
  return { kills, resumedMidway };
}

describe("examples/train killed with SIGKILL at random moments", () => {
  let dir: string;
  let reference: Map<string, string>;
  let device: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "webdcp-train-"));
    const r = await run(join(dir, "ref"));
    expect(r.code).toBe(0);
    device = r.events.find((e) => e.event === "resumed")!.device as string;
    // Deno's WebGPU has an adapter here (llvmpipe); where one is required, the GPU path must be the one tested.
    if (process.env.WEBDCP_REQUIRE_GPU === "1") expect(device).toBe("gpu");
    expect(r.events.filter((e) => e.event === "saved").map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    reference = await contents(join(dir, "ref"), STEPS);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "20 trials (WebGPU when Deno has an adapter), and 5 more with async_with_pinned_mem: every restart resumes from the newest complete step, each run ends bit-identical",
    async () => {
      const { kills, resumedMidway } = await killTrials(dir, "auto", 20, reference);
      expect(kills).toBeGreaterThanOrEqual(20);
      expect(resumedMidway).toBeGreaterThan(5);
      // Read back from the device while the next steps run there.
      const pinned = await killTrials(join(dir, "pinned"), "auto", 5, reference, PINNED);
      expect(pinned.resumedMidway).toBeGreaterThan(0);
    },
    900_000,
  );

  it(
    "the CPU path too (5 trials, and 5 more with async_with_pinned_mem), and it agrees with the GPU path to float32 rounding",
    async () => {
      const cpu = await run(join(dir, "cpu-ref"), undefined, "cpu");
      expect(cpu.events.find((e) => e.event === "resumed")!.device).toBe("cpu");
      const cpuReference = await contents(join(dir, "cpu-ref"), STEPS);
      await killTrials(dir, "cpu", 5, cpuReference);
      // Host tensors staged in the background while the next step computes: every step a restart resumes from
      // must be the state of its save, or the run ends elsewhere.
      const { resumedMidway } = await killTrials(join(dir, "pinned"), "cpu", 5, cpuReference, PINNED);
      expect(resumedMidway).toBeGreaterThan(0);
      if (device === "gpu") {
        const a = await openDcp(new FileStorage(join(dir, "ref", "checkpoint")), `step-${STEPS}`);
        const b = await openDcp(new FileStorage(join(dir, "cpu-ref", "checkpoint")), `step-${STEPS}`);
        for (const n of PARAM_NAMES) {
          const x = new Float32Array((await a.readTensor(n)).data.slice().buffer);
          const y = new Float32Array((await b.readTensor(n)).data.slice().buffer);
          for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThan(1e-4);
        }
        await Promise.all([a.close(), b.close()]);
      }
    },
    900_000,
  );

  it("torch's dcp.load puts the final checkpoint into the same nn.Sequential, which gives the same outputs", async () => {
    const ckpt = await openDcp(new FileStorage(join(dir, "ref", "checkpoint")), `step-${STEPS}`);
    const params = {} as MlpParams;
    for (const n of PARAM_NAMES) params[n] = new Float32Array((await ckpt.readTensor(n) as Tensor).data.slice().buffer);
    await ckpt.close();
    const { x } = batch(SHAPE, 999, 4);
    const ours = forward(SHAPE, params, x, 4).out;
    writeFileSync(join(dir, "x.json"), JSON.stringify([...x]));
    execFileSync(inject("python"), [
      "test/manager/py/train_example_check.py",
      join(dir, "ref", "checkpoint", `step-${STEPS}`),
      ...[SHAPE.inputs, SHAPE.hidden, SHAPE.outputs].map(String),
      join(dir, "x.json"),
      join(dir, "out.json"),
    ]);
    const theirs = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as number[];
    expect(theirs).toHaveLength(ours.length);
    // Same weights; torch sums the dot products in another order, so agreement is to float32 rounding.
    for (let i = 0; i < ours.length; i++) expect(Math.abs(theirs[i] - ours[i])).toBeLessThan(1e-5);
  });
});
