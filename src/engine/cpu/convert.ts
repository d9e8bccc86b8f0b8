import type { DType } from "../../dtype/mod.ts";
import { canConvert, type ConvertSource, type ConvertTarget, itemsize } from "../../dtype/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import { castSimd, type InPlaceMemory } from "./cast_simd.ts";
import {
  bf16ToF32,
  e4m3fnToF32,
  e5m2ToF32,
  f16ToF32,
  f32ToBf16Scalar,
  f32ToBf16Vector,
  f32ToE4m3fn,
  f32ToE5m2,
  f32ToF16,
  f64ToF32,
} from "./float_bits.ts";

export function checkConvertible(from: DType, to: DType): void {
  if (!canConvert(from, to)) {
    throw new UsageError("E_UNSUPPORTED", `the engine does not convert ${from} to ${to}`);
  }
}

const WIDEN: Record<"bfloat16" | "float16" | "float8_e4m3fn" | "float8_e5m2", (b: number) => number> = {
  bfloat16: bf16ToF32,
  float16: f16ToF32,
  float8_e4m3fn: e4m3fnToF32,
  float8_e5m2: e5m2ToF32,
};

/**
 * float32 bits -> target bits. `wideSource` picks torch's bfloat16 NaN flavour: float32/float64 inputs go
 * through its vectorised path (NaN -> 0xFFFF), narrower ones through c10::BFloat16 (NaN -> 0x7FC0).
 */
export function narrowF32(to: ConvertTarget, wideSource: boolean): (x: number) => number {
  switch (to) {
    case "float32":
      return (x) => x;
    case "bfloat16":
      return wideSource ? f32ToBf16Vector : f32ToBf16Scalar;
    case "float16":
      return f32ToF16;
    case "float8_e4m3fn":
      return f32ToE4m3fn;
    case "float8_e5m2":
      return f32ToE5m2;
  }
}

/** One element's conversion on bit patterns (float64 passes its two 32-bit words). */
export function elementConverter(from: ConvertSource, to: ConvertTarget): (lo: number, hi: number) => number {
  const narrow = narrowF32(to, from === "float32" || from === "float64");
  if (from === "float64") return (lo, hi) => narrow(f64ToF32(hi, lo));
  if (from === "float32") return (x) => narrow(x >>> 0);
  const widen = WIDEN[from];
  return (b) => narrow(widen(b));
}

const tables = new Map<string, Uint32Array>();

/** Lookup table for a 8/16-bit source: every input pattern's result, built once from the scalar functions. */
export function lookupTable(from: keyof typeof WIDEN, to: ConvertTarget): Uint32Array {
  const key = `${from}>${to}`;
  let table = tables.get(key);
  if (table === undefined) {
    const convert = elementConverter(from, to);
    table = new Uint32Array(itemsize(from) === 2 ? 0x10000 : 0x100);
    for (let b = 0; b < table.length; b++) table[b] = convert(b, 0);
    tables.set(key, table);
  }
  return table;
}

/** `bytes` itself when it starts on a multiple of `align`, else an aligned copy (typed views need it). */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

const u16 = (b: Uint8Array) => new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
const u32 = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
const i32 = (b: Uint8Array) => new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
const f32 = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.byteLength >> 2);

/** `into` when it holds exactly `count` elements of `itemBytes` (else E_USAGE), or a new buffer. */
export function convertDestination(count: number, itemBytes: number, into: Uint8Array | undefined): Uint8Array {
  if (into === undefined) return new Uint8Array(count * itemBytes);
  if (into.byteLength !== count * itemBytes) {
    throw new UsageError(
      "E_USAGE",
      `destination holds ${into.byteLength} bytes, the result needs ${count * itemBytes}`,
    );
  }
  return into;
}

/**
 * Converts a dense little-endian array of `from` elements to `to`, bit for bit as torch's `.to(to)`, into
 * `into` when given (exactly the result's size). `src.byteLength` must be a multiple of the source itemsize.
 * With `arena`, a cast between two of its buffers runs where they lie (castSimd).
 */
export function convertCpu(
  src: Uint8Array,
  from: DType,
  to: DType,
  into?: Uint8Array,
  arena?: InPlaceMemory,
): Uint8Array {
  return convertWith(src, from, to, into, true, arena);
}

/** `convertCpu` on the TypeScript twin alone: the reference its WebAssembly SIMD kernels are tested against. */
export function convertCpuTwin(src: Uint8Array, from: DType, to: DType, into?: Uint8Array): Uint8Array {
  return convertWith(src, from, to, into, false);
}

function convertWith(
  src: Uint8Array,
  from: DType,
  to: DType,
  into: Uint8Array | undefined,
  simd: boolean,
  arena?: InPlaceMemory,
) {
  checkConvertible(from, to);
  const inSize = itemsize(from);
  if (src.byteLength % inSize !== 0) {
    throw new UsageError("E_USAGE", `${src.byteLength} bytes is not a whole number of ${from} elements`);
  }
  const n = src.byteLength / inSize;
  const outSize = itemsize(to);
  const dest = convertDestination(n, outSize, into);
  if (from === to) {
    if (into === undefined) return src.slice();
    dest.set(src);
    return dest;
  }
  // Only the table kernels ask, and they exist only for 8- and 16-bit sources.
  const results = () => lookupTable(from as keyof typeof WIDEN, to as ConvertTarget);
  if (simd && castSimd(src, inSize, from, to, dest, outSize, results, arena)) return dest;
  // The loops store through 16/32-bit views: a destination off a 4-byte boundary gets an aligned twin.
  const out = outSize === 1 || dest.byteOffset % 4 === 0 ? dest : new Uint8Array(n * outSize);
  const source = from as ConvertSource;
  const target = to as ConvertTarget;
  const input = aligned(src, Math.min(inSize, 4));
  // Every loop below sees one concrete typed-array type per variable, so V8 keeps it monomorphic.
  if (source === "float32") {
    if (target === "bfloat16") f32ToBf16Loop(i32(input), u16(out));
    else if (target === "float16") f32ToF16Loop(i32(input), f32(input), u16(out));
    else narrowLoop8(u32(input), out, target === "float8_e4m3fn" ? f32ToE4m3fn : f32ToE5m2);
  } else if (source === "float64") {
    const words = u32(input);
    const narrow = narrowF32(target, true);
    if (outSize === 4) f64Loop32(words, u32(out));
    else if (outSize === 2) f64Loop16(words, u16(out), narrow);
    else f64Loop8(words, out, narrow);
  } else if (source === "bfloat16" && target === "float32") {
    bf16ToF32Loop(u16(input), i32(out));
  } else {
    const table = lookupTable(source, target);
    if (inSize === 2) {
      if (outSize === 4) lookup16to32(u16(input), u32(out), table);
      else if (outSize === 2 && input.byteOffset % 4 === 0) lookup16to16Pairs(u32(input), u16(out), table);
      else if (outSize === 2) lookup16to16(u16(input), u16(out), table);
      else lookup16to8(u16(input), out, table);
    } else {
      if (outSize === 4) lookup8to32(input, u32(out), table);
      else if (outSize === 2) lookup8to16(input, u16(out), table);
      else lookup8to8(input, out, table);
    }
  }
  if (out !== dest) dest.set(out);
  return dest;
}

/**
 * The hot path of every float32 -> bfloat16 export: inline rounding, no calls, two elements per 32-bit
 * store. Words are read signed so they stay small integers in V8 (unsigned ones above 2^31 become heap
 * numbers); for every non-NaN word `x + 0x7FFF + lsb` stays within int32, so `>> 16` keeps the right bits.
 * An odd last element is stored on its own.
 */
function f32ToBf16Loop(input: Int32Array, dst: Uint16Array): void {
  const n = input.length;
  const pairs = n >> 1;
  const words = new Int32Array(dst.buffer, dst.byteOffset, pairs);
  for (let j = 0, i = 0; j < pairs; j++, i += 2) {
    const a = input[i];
    const b = input[i + 1];
    const lo = (a & 0x7FFFFFFF) > 0x7F800000 ? 0xFFFF : ((a + 0x7FFF + ((a >> 16) & 1)) >> 16) & 0xFFFF;
    const hi = (b & 0x7FFFFFFF) > 0x7F800000 ? 0xFFFF : (b + 0x7FFF + ((b >> 16) & 1)) >> 16;
    words[j] = lo | (hi << 16);
  }
  if (n & 1) dst[n - 1] = f32ToBf16Vector(input[n - 1]);
}

/** bfloat16 is the top half of a float32: widening is a shift, signalling NaNs included (as torch). */
function bf16ToF32Loop(input: Uint16Array, dst: Int32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = input[i] << 16;
}

/**
 * float32 -> float16 with `f32ToF16`'s bits, inline and without data-dependent branches for finite
 * results (weights mix normal and denormal float16 results unpredictably). Both candidates are computed and
 * one is picked by a sign mask: the normal one rebiases the exponent and rounds to nearest even on the 13
 * dropped bits (a carry rolls into the exponent); the denormal one is |x| in units of 2^-24 rounded to
 * nearest even by adding and removing 2^52 in double arithmetic (exact: |x| * 2^24 < 2^10). Overflow,
 * infinity and NaN (magnitudes from 65520 up) are constants.
 */
function f32ToF16Loop(input: Int32Array, values: Float32Array, dst: Uint16Array): void {
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const x = input[i];
    const a = x & 0x7FFFFFFF;
    let h: number;
    if (a < 0x477FF000) {
      const t = a - 0x38000000;
      const normal = (t + 0xFFF + ((t >> 13) & 1)) >> 13;
      const denormal = (Math.abs(values[i]) * 16777216 + 4503599627370496) - 4503599627370496;
      const isDenormal = (a - 0x38800000) >> 31;
      h = ((denormal | 0) & isDenormal) | (normal & ~isDenormal);
    } else {
      h = a > 0x7F800000 ? 0x7E00 | ((a >> 13) & 0x3FF) : 0x7C00;
    }
    dst[i] = ((x >> 16) & 0x8000) | h;
  }
}

function narrowLoop8(input: Uint32Array, dst: Uint8Array, narrow: (x: number) => number): void {
  for (let i = 0; i < input.length; i++) dst[i] = narrow(input[i]);
}

function f64Loop32(words: Uint32Array, dst: Uint32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = f64ToF32(words[2 * i + 1], words[2 * i]);
}

function f64Loop16(words: Uint32Array, dst: Uint16Array, narrow: (x: number) => number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = narrow(f64ToF32(words[2 * i + 1], words[2 * i]));
}

function f64Loop8(words: Uint32Array, dst: Uint8Array, narrow: (x: number) => number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = narrow(f64ToF32(words[2 * i + 1], words[2 * i]));
}

function lookup16to32(input: Uint16Array, dst: Uint32Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}

/** Two elements per 32-bit load and store (measured 1.3x the one-at-a-time loop); an odd last one alone. */
function lookup16to16Pairs(words: Uint32Array, dst: Uint16Array, table: Uint32Array): void {
  const n = dst.length;
  const pairs = new Uint32Array(dst.buffer, dst.byteOffset, n >> 1);
  for (let i = 0; i < pairs.length; i++) {
    const w = words[i];
    pairs[i] = table[w & 0xFFFF] | (table[w >>> 16] << 16);
  }
  if (n & 1) dst[n - 1] = table[new Uint16Array(words.buffer, words.byteOffset, n)[n - 1]];
}

function lookup16to16(input: Uint16Array, dst: Uint16Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}

function lookup16to8(input: Uint16Array, dst: Uint8Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}

function lookup8to32(input: Uint8Array, dst: Uint32Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}

function lookup8to16(input: Uint8Array, dst: Uint16Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}

function lookup8to8(input: Uint8Array, dst: Uint8Array, table: Uint32Array): void {
  for (let i = 0; i < input.length; i++) dst[i] = table[input[i]];
}
