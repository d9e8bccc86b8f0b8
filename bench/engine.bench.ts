/**
 * Engine throughput: the CPU twin per conversion, and the GPU per stage (upload, compute, readback) and
 * end to end, with the adapter's name. Prints a table and appends it to bench/RESULTS.md.
 * Node:  npx deno bundle --external webgpu -o .cache/engine.bench.mjs bench/engine.bench.ts && \
 *        VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node .cache/engine.bench.mjs
 * Deno:  DENO_WEBGPU_BACKEND=gl npx deno run -A bench/engine.bench.ts
 * Software adapters (SwiftShader, llvmpipe) say nothing about real GPUs: their rows are recorded as such.
 */
import { appendFileSync } from "node:fs";
import type { DType } from "../src/dtype/mod.ts";
import { convertCpu, createEngine, type GpuEngine } from "../src/engine/mod.ts";
import { encodeParams } from "../src/engine/gpu/kernels.ts";
import { shaderKinds } from "../src/engine/gpu/kinds.ts";
import { GpuKernelsRunner } from "../src/engine/gpu/gpu_engine.ts";
import { dispatchSize } from "../src/engine/gpu/planner.ts";

const MIB = 1024 * 1024;
const BYTES = 64 * MIB;
const REPEATS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(run: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return median(samples) / 1000;
}

function randomBytes(n: number): Uint8Array {
  const words = new Uint32Array(n / 4);
  let x = 0x9E3779B9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Keep most values finite and in range so the common path dominates, as in real weights.
    words[i] = (x & 0x807FFFFF) | ((100 + (x >>> 24) % 40) << 23);
  }
  return new Uint8Array(words.buffer);
}

const PAIRS: Array<[DType, DType]> = [
  ["float32", "bfloat16"],
  ["float32", "float16"],
  ["float32", "float8_e4m3fn"],
  ["bfloat16", "float32"],
  ["float16", "float8_e5m2"],
  ["float64", "bfloat16"],
];

const rows: string[][] = [];
const gbps = (bytes: number, s: number) => (bytes / s / 1e9).toFixed(2);
const host = globalThis as { Deno?: { version: { deno: string } }; process?: { version: string } };
const runtime = host.Deno ? `Deno ${host.Deno.version.deno}` : `Node ${host.process?.version}`;
const input = randomBytes(BYTES);

for (const [from, to] of PAIRS) {
  const src = from === "float32" ? input : convertCpu(input, "float32", from === "float64" ? "float32" : from);
  const data = from === "float64" ? new Uint8Array(new Float64Array(new Float32Array(input.buffer)).buffer) : src;
  // Two ways the kernel is used: into a fresh output (one-off calls) and into a reused one (the jobs'
  // band pipeline); on VMs, first-touching fresh memory can cost as much as the conversion itself.
  const fresh = await time(() => convertCpu(data, from, to));
  const reused = convertCpu(data, from, to);
  const inPlace = await time(() => convertCpu(data, from, to, reused));
  for (const [stage, s] of [["convert (fresh output)", fresh], ["convert (reused output)", inPlace]] as const) {
    rows.push([
      `cpu twin (${runtime}, 1 core)`,
      `${from} -> ${to}`,
      stage,
      `${(data.byteLength / MIB).toFixed(0)} MiB`,
      gbps(data.byteLength, s),
    ]);
  }
}

let engine: GpuEngine | undefined;
try {
  engine = await createEngine({ kind: "gpu" }) as GpuEngine;
} catch (error) {
  rows.push(["gpu", "-", "no adapter", String(error), "-"]);
}
if (engine) {
  const name = `${engine.adapterName}${engine.context.isFallbackAdapter ? " (fallback)" : ""} (${runtime})`;
  const runner = new GpuKernelsRunner(engine.context);
  const device = engine.context.device;
  const U = GPUBufferUsage;
  const size = Math.min(BYTES, runner.stagingBytes);
  const data = input.subarray(0, size);
  const src = device.createBuffer({ size, usage: U.STORAGE | U.COPY_DST });
  const out = device.createBuffer({ size: size / 2, usage: U.STORAGE | U.COPY_SRC });
  const read = device.createBuffer({ size: size / 2, usage: U.MAP_READ | U.COPY_DST });
  const params = device.createBuffer({ size: 32, usage: U.UNIFORM | U.COPY_DST });
  const kinds = shaderKinds("float32", "bfloat16");
  const words = size / 4 / 2;
  device.queue.writeBuffer(params, 0, encodeParams({ wordCount: words, count: size / 4 }));
  const upload = await time(async () => {
    device.queue.writeBuffer(src, 0, data);
    await device.queue.onSubmittedWorkDone();
  });
  const slot = { src, out, read, params, meta: params };
  const compute = await time(async () => {
    const encoder = device.createCommandEncoder();
    runner.kernels.encode(
      encoder,
      "convert_main",
      kinds,
      { buffer: src, offset: 0, size },
      { buffer: out, offset: 0, size: size / 2 },
      slot,
      0,
      dispatchSize(words, engine!.context.limits),
    );
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  const readback = await time(async () => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(out, 0, read, 0, size / 2);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    new Uint8Array(read.getMappedRange()).slice();
    read.unmap();
  });
  const whole = await time(() => engine!.convert(input, "float32", "bfloat16"));
  const label = `${(size / MIB).toFixed(0)} MiB`;
  rows.push([name, "float32 -> bfloat16", "upload", label, gbps(size, upload)]);
  rows.push([name, "float32 -> bfloat16", "compute", label, gbps(size, compute)]);
  rows.push([name, "float32 -> bfloat16", "readback", `${(size / 2 / MIB).toFixed(0)} MiB`, gbps(size / 2, readback)]);
  rows.push([
    name,
    "float32 -> bfloat16",
    "pipelined end to end",
    `${(BYTES / MIB).toFixed(0)} MiB`,
    gbps(BYTES, whole),
  ]);
  for (const b of [src, out, read, params]) b.destroy();
  runner.dispose();
  engine.dispose();
}

const header = ["engine", "conversion", "stage", "input", "GB/s of input"];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
console.log(table);
const command = "Deno" in globalThis
  ? "DENO_WEBGPU_BACKEND=gl npx deno run -A bench/engine.bench.ts"
  : "npx deno bundle --external webgpu -o .cache/engine.bench.mjs bench/engine.bench.ts && VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node .cache/engine.bench.mjs";
const when = new Date().toISOString().slice(0, 16).replace("T", " ");
appendFileSync(
  "bench/RESULTS.md", // run from the repository root (the Node command runs a bundle from .cache/)
  `\n## engine (${when} UTC, median of ${REPEATS})\n\n\`${command}\`\n\n${table}\n`,
);
