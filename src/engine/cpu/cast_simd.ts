import {
  CAST_CHUNK,
  CAST_MODULE_PRIVATE_BASE64,
  CAST_MODULE_SHARED_BASE64,
  CAST_OUTPUT_OFFSET,
  CAST_SCRATCH_BYTES,
  CAST_TABLE_KERNELS,
  CAST_TABLE_OFFSET,
} from "./cast_simd.generated.ts";

/** A kernel: `n` elements from byte address `src` to `dst` of the memory; `table`: a table kernel's entries. */
type Kernel = (n: number, src: number, dst: number, table: number) => void;

/**
 * An instance of the cast module over a memory, and this thread's scratch area in it (input and output
 * regions for buffers outside the memory, and the lookup table); `tableOf` names the kernel whose table
 * the scratch area holds.
 */
export interface CastInstance {
  /** The memory's buffer: a cast arena's SharedArrayBuffer, or a private ArrayBuffer. */
  memory: ArrayBufferLike;
  kernels: Readonly<Record<string, Kernel | undefined>>;
  /** Where this thread's scratch area starts. */
  scratch: number;
  tableOf?: string;
}

/** Where things are in a scratch area (from the generated module). */
export interface CastLayout {
  chunk: number;
  output: number;
  table: number;
}

export const CAST_LAYOUT: CastLayout = { chunk: CAST_CHUNK, output: CAST_OUTPUT_OFFSET, table: CAST_TABLE_OFFSET };

/** Bytes of one thread's scratch area. */
export const CAST_SCRATCH = CAST_SCRATCH_BYTES;

/** The module's bytes, importing a shared memory (a cast arena's) or a private one, for here or a worker. */
export function castModuleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(shared ? CAST_MODULE_SHARED_BASE64 : CAST_MODULE_PRIVATE_BASE64), (c) => c.charCodeAt(0));
}

/**
 * Instantiates the module over `memory` with its scratch area at `scratch`. Self-contained (no reference
 * outside its parameters): its source text also runs inside pool workers.
 */
export function instantiateCast(module: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory, scratch: number) {
  const made = new WebAssembly.Instance(new WebAssembly.Module(module), { env: { memory } });
  const instance: CastInstance = { memory: memory.buffer, kernels: made.exports as CastInstance["kernels"], scratch };
  return instance;
}

/** Whether the kernel for `from` -> `to` looks its results up in a table (one per 16-bit source pattern). */
export function castHasTable(from: string, to: string): boolean {
  return CAST_TABLE_KERNELS.includes(`${from}_${to}`);
}

/**
 * Converts `src` (whole elements of `inSize` bytes) into `dest` with the instance's kernel `name`, a chunk
 * at a time through its scratch area (a few hundred KiB that stay in cache): for buffers outside the
 * instance's memory, and for the last few elements of a cast in place. A table kernel first gets its
 * table, when the scratch area holds another's: `results[b]`, the twin's result for every 16-bit source
 * pattern `b`. A table kernel's `table` without `results` asserts that the area already holds them (else it
 * throws).
 *
 * Self-contained (no reference outside its parameters): its source text also runs inside pool workers.
 */
export function runCast(
  instance: CastInstance,
  layout: CastLayout,
  name: string,
  table: { results?: Uint32Array } | undefined,
  src: Uint8Array,
  inSize: number,
  dest: Uint8Array,
  outSize: number,
): void {
  const kernel = instance.kernels[name];
  if (kernel === undefined) throw new Error(`no cast kernel ${name}`);
  const memory = instance.memory;
  const { scratch } = instance;
  if (table !== undefined && instance.tableOf !== name) {
    const { results } = table;
    // Never run a table kernel on another kernel's table: the caller must send this one's.
    if (results === undefined) throw new Error(`the lookup table of ${name} is not loaded`);
    const view = outSize === 1
      ? new Uint8Array(memory, scratch + layout.table, 65536)
      : new Uint16Array(memory, scratch + layout.table, 65536);
    view.set(results); // each result fits its entry; the typed-array store keeps the low bytes
    instance.tableOf = name;
  }
  const bytes = new Uint8Array(memory, scratch);
  const n = src.byteLength / inSize;
  for (let e = 0; e < n; e += layout.chunk) {
    const count = Math.min(layout.chunk, n - e);
    bytes.set(src.subarray(e * inSize, (e + count) * inSize));
    kernel(count, scratch, scratch + layout.output, scratch + layout.table);
    dest.set(bytes.subarray(layout.output, layout.output + count * outSize), e * outSize);
  }
}

/**
 * Kernels light enough to read their input where it lies: they do little per input byte (float32 <->
 * bfloat16 is a rounding or a shift of 16 bits; float8 -> float32 and float8_e5m2 -> float16 a table lookup
 * or a shift into a wider output), so the loads keep coming. The others do so much per load that their
 * reads from memory wait on one another: streaming float32 -> float16 from beyond the cache ran at 1.5 GB/s
 * in place against 3.2-3.7 GB/s when each 64 KiB went through the scratch area first (a block copy keeps
 * many loads in flight), float16 -> float32 at 2.1 against 2.7. Measured with bench/cast.bench.ts
 * (bench/RESULTS.md, 2026-12-06); every kernel writes its output where it lies either way. The CPU engine
 * also keeps these casts on the calling thread (a worker's round trip costs more than they do).
 */
const LIGHT_CASTS: readonly string[] = [
  "float32_bfloat16",
  "bfloat16_float32",
  "float8_e4m3fn_float32",
  "float8_e5m2_float32",
  "float8_e5m2_float16",
];

/** Whether the kernel `name` (`<from>_<to>`) reads its input in place (see LIGHT_CASTS). */
export function lightCast(name: string): boolean {
  return LIGHT_CASTS.includes(name);
}

/**
 * Converts `at.count` elements at byte address `at.src` of the instance's memory into `at.dest` of the same
 * memory, writing the output where it lies: whole groups of 16 (a kernel's step) by the kernel, reading in
 * place when `readInPlace` (see lightCast), else a chunk at a time copied into the scratch area first; the
 * last few elements through the scratch area (`runCast`), so nothing is read or written past either end.
 * Loads the table as `runCast` does.
 *
 * Self-contained, given `runCast`: its source text also runs inside pool workers.
 */
export function runCastAt(
  instance: CastInstance,
  layout: CastLayout,
  name: string,
  table: { results?: Uint32Array } | undefined,
  at: { src: number; dest: number; count: number; readInPlace: boolean },
  inSize: number,
  outSize: number,
  cast: typeof runCast,
): void {
  const whole = at.count - (at.count % 16);
  const rest = at.count - whole;
  const view = (address: number, bytes: number) => new Uint8Array(instance.memory, address, bytes);
  // Loads the table (or checks it is loaded) before any kernel runs.
  cast(instance, layout, name, table, view(at.src, 0), inSize, view(at.dest, 0), outSize);
  const kernel = instance.kernels[name]!;
  const tableAt = instance.scratch + layout.table;
  if (at.readInPlace && whole > 0) kernel(whole, at.src, at.dest, tableAt);
  const bytes = new Uint8Array(instance.memory);
  for (let e = 0; !at.readInPlace && e < whole; e += layout.chunk) {
    const count = Math.min(layout.chunk, whole - e); // a multiple of 16, as the chunk is
    bytes.copyWithin(instance.scratch, at.src + e * inSize, at.src + (e + count) * inSize);
    kernel(count, instance.scratch, at.dest + e * outSize, tableAt);
  }
  if (rest > 0) {
    const src = view(at.src + whole * inSize, rest * inSize);
    cast(instance, layout, name, table, src, inSize, view(at.dest + whole * outSize, rest * outSize), outSize);
  }
}

let loaded: CastInstance | null | undefined;

/**
 * This thread's own instance of the kernels (scripts/build-cast-wasm.ts) over a private memory of one
 * scratch area, or null where the runtime has no WebAssembly SIMD or forbids compiling it (a browser page's
 * content security policy, a main thread that refuses synchronous compiles): the TypeScript twin then does
 * the same work, bit for bit, more slowly.
 */
function castInstance(): CastInstance | null {
  if (loaded !== undefined) return loaded;
  try {
    const memory = new WebAssembly.Memory({ initial: CAST_SCRATCH / 65536 });
    loaded = instantiateCast(castModuleBytes(false), memory, 0);
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Whether the SIMD module has a kernel for `from` -> `to` that needs no lookup table. */
export function plainSimdKernel(from: string, to: string): boolean {
  return castInstance()?.kernels[`${from}_${to}`] !== undefined && !castHasTable(from, to);
}

/** True when the SIMD kernels run here (tests check that they are the ones being judged). */
export function simdCastsAvailable(): boolean {
  return castInstance() !== null;
}

/** Memory whose buffers the kernels cast where they lie (a CastArena), and this thread's instance over it. */
export interface InPlaceMemory {
  here: CastInstance;
  /** The byte address of `view` in the memory, or undefined when it lies elsewhere. */
  addressOf(view: Uint8Array): number | undefined;
}

/**
 * Converts `src` into `dest` with the kernel for `from` -> `to` on this thread: where they lie when both
 * are buffers of `arena` (runCastAt), else through this thread's scratch area. `results` gives the twin's
 * result for every pattern of a 16-bit source, for the kernels that look them up. False, with nothing
 * written, when no kernel runs here.
 */
export function castSimd(
  src: Uint8Array,
  inSize: number,
  from: string,
  to: string,
  dest: Uint8Array,
  outSize: number,
  results: () => Uint32Array,
  arena?: InPlaceMemory,
): boolean {
  const name = `${from}_${to}`;
  const table = () => (castHasTable(from, to) ? { results: results() } : undefined);
  const srcAt = arena?.addressOf(src), destAt = arena?.addressOf(dest);
  if (arena !== undefined && srcAt !== undefined && destAt !== undefined && arena.here.kernels[name] !== undefined) {
    const at = { src: srcAt, dest: destAt, count: src.byteLength / inSize, readInPlace: lightCast(name) };
    runCastAt(arena.here, CAST_LAYOUT, name, table(), at, inSize, outSize, runCast);
    return true;
  }
  const instance = castInstance();
  if (instance === null || instance.kernels[name] === undefined) return false;
  runCast(instance, CAST_LAYOUT, name, table(), src, inSize, dest, outSize);
  return true;
}
