/**
 * Per-core throughput of every CPU cast (issue 15: at least 2 GB/s of input per core), one thread, 64 MiB
 * of input per cast, median of BENCH_ROUNDS (default 7). Columns: `convertCpu` (what the CPU engine runs:
 * the WebAssembly SIMD kernels) as the band pipeline calls it (bands of DEFAULT_BAND_BYTES of the wider
 * dtype, each into the same reused slot), in place (input and slot in a cast arena, as the engine's own
 * buffers are under Deno and Node) and through the kernels' scratch area (buffers outside an arena: a
 * browser's); the TypeScript twin alone (the reference and fallback) in one call.
 * Timed in the process's CPU time, not wall time: on a machine shared with other jobs the wall clock also
 * counts the time the thread waited for a core, which is not the cast's cost. Prints a table and appends it
 * to bench/RESULTS.md.
 * Deno:  npx deno run -A bench/cast.bench.ts          Node:  node bench/cast.bench.ts (Node 23.6+ strips types)
 * BENCH_CASTS=float32>float16,... limits the casts; BENCH_TWIN=0 skips the twin rows.
 */
import { availableParallelism, loadavg } from "node:os";
import { cpuUsage } from "node:process";
import type { DType } from "../src/dtype/mod.ts";
import { itemsize } from "../src/dtype/mod.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS } from "../src/dtype/mod.ts";
import { convertCpu, convertCpuTwin } from "../src/engine/cpu/convert.ts";
import { simdCastsAvailable } from "../src/engine/cpu/cast_simd.ts";
import { CastArena } from "../src/engine/cpu/cast_arena.ts";
import { DEFAULT_BAND_BYTES } from "../src/pipeline/mod.ts";
import { recordSection } from "./lib/results.ts";
import { median } from "./lib/rounds.ts";

const MIB = 1024 * 1024;
const BYTES = 64 * MIB;
const env = (name: string) =>
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
const ROUNDS = Number(env("BENCH_ROUNDS") ?? 7);
const only = env("BENCH_CASTS")?.split(",");
const withTwin = env("BENCH_TWIN") !== "0";

/** float32 weights-like values (exponents 100..139, so every target sees normals, denormals and overflow). */
function float32Input(elements: number): Uint8Array {
  const words = new Uint32Array(elements);
  let x = 0x9E3779B9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = (x & 0x807FFFFF) | ((100 + (x >>> 24) % 40) << 23);
  }
  return new Uint8Array(words.buffer);
}

/** 64 MiB of `dtype` elements made from the float32 values (float64 widened exactly). */
function input(dtype: DType): Uint8Array {
  const n = BYTES / itemsize(dtype);
  const f32 = float32Input(n);
  if (dtype === "float32") return f32;
  if (dtype === "float64") return new Uint8Array(Float64Array.from(new Float32Array(f32.buffer)).buffer);
  return convertCpu(f32, "float32", dtype);
}

/** Room for one input and one band's output. */
const arena = CastArena.create(false, 2 * BYTES)!;

/**
 * GB/s of input: `src` converted in pieces of `bandBytes` of input, each into one reused output (with
 * `inPlace`, both in the arena, cast where they lie).
 */
function throughput(
  convert: typeof convertCpu,
  input: Uint8Array,
  from: DType,
  to: DType,
  bandBytes = input.byteLength,
  inPlace = false,
): number {
  const bandOut = (bandBytes / itemsize(from)) * itemsize(to);
  const src = inPlace ? arena.allocate(input.byteLength)! : input;
  if (inPlace) src.set(input);
  const out = inPlace ? arena.allocate(bandOut)! : new Uint8Array(bandOut);
  convert(src.subarray(0, bandBytes), from, to, out, inPlace ? arena : undefined); // warm-up
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuUsage();
    for (let at = 0; at < src.byteLength; at += bandBytes) {
      convert(src.subarray(at, at + bandBytes), from, to, out, inPlace ? arena : undefined);
    }
    const t = cpuUsage(t0);
    samples.push((t.user + t.system) / 1000);
  }
  if (inPlace) [src, out].forEach((b) => arena.release(b));
  return src.byteLength / (median(samples) / 1000) / 1e9;
}

/**
 * The floor for a cast through the scratch area: the same bytes copied in and out of a cache-sized
 * window (what every kernel call does around its arithmetic), with no arithmetic at all. A cast whose
 * output is 2 or 4 times its input is bound by writing that output, whatever computes it.
 */
const floors = new Map<string, number>();
function copyFloor(src: Uint8Array, inSize: number, outSize: number): number {
  const key = `${inSize}>${outSize}`;
  if (!floors.has(key)) {
    const window = new Uint8Array(3 * 65536);
    const n = src.byteLength / inSize;
    const out = new Uint8Array(n * outSize);
    const samples: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = cpuUsage();
      for (let e = 0; e < n; e += 16384) {
        const count = Math.min(16384, n - e);
        window.set(src.subarray(e * inSize, (e + count) * inSize));
        out.set(window.subarray(131072, 131072 + count * outSize), e * outSize);
      }
      const t = cpuUsage(t0);
      samples.push((t.user + t.system) / 1000);
    }
    floors.set(key, src.byteLength / (median(samples) / 1000) / 1e9);
  }
  return floors.get(key)!;
}

const host = globalThis as { Deno?: { version: { deno: string } }; process?: { version: string } };
const runtime = host.Deno ? `Deno ${host.Deno.version.deno}` : `Node ${host.process?.version}`;
const rows: string[][] = [];
for (const from of CONVERT_SOURCES) {
  const src = input(from);
  for (const to of CONVERT_TARGETS) {
    if (from === to || (only && !only.includes(`${from}>${to}`))) continue;
    // A band holds DEFAULT_BAND_BYTES of the wider dtype (src/pipeline/bands.ts).
    const band = (DEFAULT_BAND_BYTES / Math.max(itemsize(from), itemsize(to))) * itemsize(from);
    const inPlace = throughput(convertCpu, src, from, to, band, true);
    const scratch = throughput(convertCpu, src, from, to, band);
    const twin = withTwin ? throughput(convertCpuTwin, src, from, to) : NaN;
    const floor = copyFloor(src, itemsize(from), itemsize(to));
    const row = [
      `${from} -> ${to}`,
      inPlace.toFixed(2),
      inPlace >= 2 ? "yes" : "**no**",
      scratch.toFixed(2),
      scratch >= 2 ? "yes" : "**no**",
      floor.toFixed(2),
      withTwin ? twin.toFixed(2) : "-",
    ];
    console.log(row.join("  "));
    rows.push(row);
  }
}

const date = new Date().toISOString().slice(0, 16).replace("T", " ");
const header = [
  "cast (64 MiB of input)",
  "GB/s of input: convertCpu in place, 4 MiB bands of a cast arena into a reused slot there",
  ">= 2 GB/s",
  "GB/s: convertCpu through scratch, 4 MiB bands into a reused slot",
  ">= 2 GB/s",
  "GB/s: copy floor of the scratch path (one call)",
  "GB/s: TypeScript twin (one call)",
];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
const section = [
  `## casts, one core (${date} UTC, median of ${ROUNDS})`,
  "",
  `${runtime}, SIMD kernels ${simdCastsAvailable() ? "in use" : "UNAVAILABLE (twin only)"}; ` +
  `${availableParallelism()} cores shared with other jobs, load average ${
    loadavg().map((l) => l.toFixed(2)).join(" ")
  }` +
  " at the end: figures are indicative.",
  "",
  "`npx deno run -A bench/cast.bench.ts`",
  "",
  table,
  "",
].join("\n");
recordSection(section);
