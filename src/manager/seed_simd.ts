/**
 * The seed generator in WebAssembly (scripts/build-seed-wasm.ts), the same values as CounterRandom's
 * `fillTruncNormal` bit for bit: on this thread (`fillSeedSimd`) and in the engine's worker pool
 * (`seedWorkerProgram()`), where a band is generated and cast to the checkpoint's dtype without leaving the
 * worker.
 */
import type { WorkerProgram } from "../engine/pool/mod.ts";
import { lowerThreadPriority } from "../tasks/mod.ts";
import type { CounterRandom } from "./seed_random.ts";
import { SEED_LAYOUT, SEED_MODULE_BASE64 } from "./seed_simd.generated.ts";

/** An instance of the module: its memory and its `fill`. */
interface SeedInstance {
  memory: ArrayBuffer;
  fill(lo: number, hi: number, count: number, std: number, a: number, b: number, lim: number, bf16: number): void;
}

type SeedLayout = typeof SEED_LAYOUT;

/** The module's bytes. */
function seedModuleBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(SEED_MODULE_BASE64), (c) => c.charCodeAt(0));
}

/** Instantiates the module. Self-contained (no reference outside its parameter): its source text also runs in pool workers. */
function instantiateSeed(module: Uint8Array<ArrayBuffer>): SeedInstance {
  const made = new WebAssembly.Instance(new WebAssembly.Module(module));
  return {
    memory: (made.exports.memory as WebAssembly.Memory).buffer,
    fill: made.exports.fill as SeedInstance["fill"],
  };
}

/**
 * Elements [start, start + count) of `std * N(0, 1)` conditioned on [a, b] for the stream with `keys`, a
 * chunk at a time, as float32 or (`bf16`) bfloat16: `sink` gets each chunk's bytes (a view of the module's
 * memory, valid until the next chunk) and its first element's position in the band. A chunk never spans
 * two 2^32 blocks of indices (the module keeps the block's number for a whole call).
 *
 * Self-contained: its source text also runs inside pool workers.
 */
function runSeedFill(
  instance: SeedInstance,
  layout: SeedLayout,
  keys: readonly number[],
  band: { start: number; count: number; std: number; a: number; b: number; bf16: boolean },
  sink: (chunk: Uint8Array, at: number) => void,
): void {
  const { start, count, a, b } = band;
  new Int32Array(instance.memory, layout.keys, 2).set(keys);
  // The largest float32 <= min(b, -a): within it, a float32 value of either sign is inside [a, b].
  const bound = Math.min(b, -a);
  const lim = new Float32Array([bound]);
  if (lim[0] > bound) new Int32Array(lim.buffer)[0] += lim[0] > 0 ? -1 : 1;
  const std32 = Math.fround(band.std);
  const size = band.bf16 ? 2 : 4;
  for (let at = 0; at < count;) {
    const hi = Math.floor((start + at) / 4294967296);
    const lo = start + at - hi * 4294967296;
    const n = Math.min(layout.chunk, count - at, 4294967296 - lo);
    instance.fill(lo | 0, hi, n, std32, a, b, lim[0], band.bf16 ? 1 : 0);
    sink(new Uint8Array(instance.memory, layout.out, n * size), at);
    at += n;
  }
}

let loaded: SeedInstance | null | undefined;

/** This thread's instance, or null where WebAssembly SIMD is missing or compiling is refused. */
function seedInstance(): SeedInstance | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = instantiateSeed(seedModuleBytes());
  } catch {
    loaded = null;
  }
  return loaded;
}

/** True when `fillSeedSimd` runs here (tests check that they judge the module). */
export function seedSimdAvailable(): boolean {
  return seedInstance() !== null;
}

/**
 * `rng.fillTruncNormal(out, start, std, a, b)` in WebAssembly on this thread; false, with nothing written,
 * where the module does not run.
 */
export function fillSeedSimd(rng: CounterRandom, out: Float32Array, start: number, std: number, a: number, b: number) {
  const instance = seedInstance();
  if (instance === null) return false;
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  runSeedFill(instance, SEED_LAYOUT, rng.keys, { start, count: out.length, std, a, b, bf16: false }, (chunk, at) => {
    bytes.set(chunk, at * 4);
  });
  return true;
}

/** One band for a pool worker: elements of a stream, as `dtype` into `dest` (a view of shared memory). */
export interface SeedJob {
  keys: readonly number[];
  start: number;
  count: number;
  std: number;
  a: number;
  b: number;
  /** float32 and bfloat16 come out of the module; float16 is cast from float32 by the pool's kernel. */
  dtype: "float32" | "bfloat16" | "float16";
  dest: Uint8Array;
}

/**
 * The niceness of a seed worker's thread: the generators yield to the thread that writes their bands, which
 * needs far less CPU but needs it at once (an 8B float32 seed: bench/RESULTS.md, 2026-12-06).
 */
const WORKER_NICENESS = 10;

/**
 * Self-contained: what a worker runs, given the pool's cast, this file's two functions above and
 * `lowerThreadPriority`.
 */
function seedWorker(
  init: { module: Uint8Array<ArrayBuffer>; layout: SeedLayout; niceness: number },
  cast: (name: string, src: Uint8Array, inSize: number, dest: Uint8Array, outSize: number) => void,
  instantiate: typeof instantiateSeed,
  runFill: typeof runSeedFill,
  lowerPriority: typeof lowerThreadPriority,
): (job: SeedJob) => void {
  if (init.niceness > 0) lowerPriority(init.niceness);
  const instance = instantiate(init.module);
  return (j) => {
    const bf16 = j.dtype === "bfloat16";
    runFill(instance, init.layout, j.keys, { ...j, bf16 }, (chunk, at) => {
      if (j.dtype !== "float16") j.dest.set(chunk, at * (bf16 ? 2 : 4));
      else cast("float32_float16", chunk, 4, j.dest.subarray(at * 2, at * 2 + chunk.byteLength / 2), 2);
    });
  };
}

/** The pool program that runs SeedJobs (named "seed"). */
export function seedWorkerProgram(): WorkerProgram {
  return {
    name: "seed",
    source: `(init, cast) => (${seedWorker})(init, cast, ${instantiateSeed}, ${runSeedFill}, ${lowerThreadPriority})`,
    init: { module: seedModuleBytes(), layout: SEED_LAYOUT, niceness: WORKER_NICENESS },
  };
}
