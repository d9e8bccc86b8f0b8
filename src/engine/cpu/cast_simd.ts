import {
  CAST_CHUNK,
  CAST_MODULE_BASE64,
  CAST_OUTPUT_OFFSET,
  CAST_TABLE_KERNELS,
  CAST_TABLE_OFFSET,
} from "./cast_simd.generated.ts";

type Kernel = (count: number) => void;

interface CastModule {
  memory: ArrayBuffer;
  bytes: Uint8Array;
  kernels: Readonly<Record<string, Kernel | undefined>>;
  /** The kernel whose lookup table is in memory now. */
  tableOf?: string;
}

let loaded: CastModule | null | undefined;

/**
 * The compiled kernels (scripts/build-cast-wasm.ts), or null where the runtime has no WebAssembly SIMD or
 * forbids compiling it (a browser page's content security policy, a main thread that refuses synchronous
 * compiles): the TypeScript twin then does the same work, bit for bit, more slowly.
 */
function castModule(): CastModule | null {
  if (loaded !== undefined) return loaded;
  try {
    const bytes = Uint8Array.from(atob(CAST_MODULE_BASE64), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
    loaded = { memory, bytes: new Uint8Array(memory), kernels: instance.exports as Record<string, Kernel> };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** True when the SIMD kernels run here (tests check that they are the ones being judged). */
export function simdCastsAvailable(): boolean {
  return castModule() !== null;
}

/**
 * Writes a table kernel's entries: `results[b]` (the twin's result for every source pattern `b`) per
 * 16-bit pattern, or for float8 sources the results of both bytes of a 16-bit load side by side (first
 * element in the low bytes, as little-endian memory has it).
 */
function fillTable(module: CastModule, kind: "single" | "pair", outSize: number, results: Uint32Array): void {
  const at = CAST_TABLE_OFFSET;
  if (kind === "single") {
    const view = outSize === 1
      ? new Uint8Array(module.memory, at, 65536)
      : outSize === 2
      ? new Uint16Array(module.memory, at, 65536)
      : new Uint32Array(module.memory, at, 65536);
    view.set(results); // each result fits its entry; the typed-array store keeps the low bytes
    return;
  }
  if (outSize === 4) {
    const words = new Uint32Array(module.memory, at, 2 * 65536);
    for (let p = 0; p < 65536; p++) {
      words[2 * p] = results[p & 0xFF];
      words[2 * p + 1] = results[p >>> 8];
    }
    return;
  }
  const entries = outSize === 1 ? new Uint16Array(module.memory, at, 65536) : new Uint32Array(module.memory, at, 65536);
  const shift = 8 * outSize;
  for (let p = 0; p < 65536; p++) entries[p] = results[p & 0xFF] | (results[p >>> 8] << shift);
}

/**
 * Converts `src` (whole elements of `inSize` bytes) into `dest` with the kernel for `from` -> `to`, a chunk
 * at a time through the module's memory (a few hundred KiB that stay in cache). `results` gives the twin's
 * result for every pattern of an 8- or 16-bit source, for the kernels that look them up. False, with
 * nothing written, when no kernel runs here.
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
  const module = castModule();
  const name = `${from}_${to}`;
  const kernel = module?.kernels[name];
  if (module === null || module === undefined || kernel === undefined) return false;
  const table = CAST_TABLE_KERNELS[name];
  if (table !== undefined && module.tableOf !== name) {
    fillTable(module, table, outSize, results());
    module.tableOf = name;
  }
  const memory = module.bytes;
  const n = src.byteLength / inSize;
  for (let e = 0; e < n; e += CAST_CHUNK) {
    const count = Math.min(CAST_CHUNK, n - e);
    memory.set(src.subarray(e * inSize, (e + count) * inSize));
    kernel(count);
    dest.set(memory.subarray(CAST_OUTPUT_OFFSET, CAST_OUTPUT_OFFSET + count * outSize), e * outSize);
  }
  return true;
}
