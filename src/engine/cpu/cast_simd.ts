import {
  CAST_CHUNK,
  CAST_MODULE_BASE64,
  CAST_OUTPUT_OFFSET,
  CAST_TABLE_KERNELS,
  CAST_TABLE_OFFSET,
} from "./cast_simd.generated.ts";

/** An instance of the cast module: its memory, its kernels, and whose lookup table that memory holds. */
export interface CastInstance {
  memory: ArrayBuffer;
  kernels: Readonly<Record<string, ((count: number) => void) | undefined>>;
  tableOf?: string;
}

/** Where things are in the module's memory (from the generated module). */
export interface CastLayout {
  chunk: number;
  output: number;
  table: number;
}

export const CAST_LAYOUT: CastLayout = { chunk: CAST_CHUNK, output: CAST_OUTPUT_OFFSET, table: CAST_TABLE_OFFSET };

/** The module's bytes, for instantiating it here or in a worker. */
export function castModuleBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(CAST_MODULE_BASE64), (c) => c.charCodeAt(0));
}

/** Whether the kernel for `from` -> `to` looks its results up in a table (one per 16-bit source pattern). */
export function castHasTable(from: string, to: string): boolean {
  return CAST_TABLE_KERNELS.includes(`${from}_${to}`);
}

/**
 * Converts `src` (whole elements of `inSize` bytes) into `dest` with the instance's kernel `name`, a chunk
 * at a time through its memory (a few hundred KiB that stay in cache). A table kernel first gets its
 * table, when the memory holds another's: `results[b]`, the twin's result for every 16-bit source pattern
 * `b`. A table kernel's `table` without `results` asserts that the memory already holds them (else it
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
  if (table !== undefined && instance.tableOf !== name) {
    const { results } = table;
    // Never run a table kernel on another kernel's table: the caller must send this one's.
    if (results === undefined) throw new Error(`the lookup table of ${name} is not loaded`);
    const view = outSize === 1
      ? new Uint8Array(memory, layout.table, 65536)
      : new Uint16Array(memory, layout.table, 65536);
    view.set(results); // each result fits its entry; the typed-array store keeps the low bytes
    instance.tableOf = name;
  }
  const bytes = new Uint8Array(memory);
  const n = src.byteLength / inSize;
  for (let e = 0; e < n; e += layout.chunk) {
    const count = Math.min(layout.chunk, n - e);
    bytes.set(src.subarray(e * inSize, (e + count) * inSize));
    kernel(count);
    dest.set(bytes.subarray(layout.output, layout.output + count * outSize), e * outSize);
  }
}

let loaded: CastInstance | null | undefined;

/**
 * This thread's instance of the kernels (scripts/build-cast-wasm.ts), or null where the runtime has no
 * WebAssembly SIMD or forbids compiling it (a browser page's content security policy, a main thread that
 * refuses synchronous compiles): the TypeScript twin then does the same work, bit for bit, more slowly.
 */
function castInstance(): CastInstance | null {
  if (loaded !== undefined) return loaded;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(castModuleBytes()), {});
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    loaded = { memory, kernels: instance.exports as CastInstance["kernels"] };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** True when the SIMD kernels run here (tests check that they are the ones being judged). */
export function simdCastsAvailable(): boolean {
  return castInstance() !== null;
}

/**
 * Converts `src` into `dest` with the kernel for `from` -> `to` on this thread. `results` gives the twin's
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
): boolean {
  const instance = castInstance();
  const name = `${from}_${to}`;
  if (instance === null || instance.kernels[name] === undefined) return false;
  const table = castHasTable(from, to) ? { results: results() } : undefined;
  runCast(instance, CAST_LAYOUT, name, table, src, inSize, dest, outSize);
  return true;
}
