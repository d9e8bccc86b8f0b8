import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { CONVERT_SOURCES, CONVERT_TARGETS, itemsize } from "../../src/dtype/mod.ts";
import { convertCpu, convertCpuTwin, lookupTable } from "../../src/engine/cpu/convert.ts";
import { castSimd, simdCastsAvailable } from "../../src/engine/cpu/cast_simd.ts";
import { readFileSync } from "node:fs";
import { CAST_CHUNK } from "../../src/engine/cpu/cast_simd.generated.ts";
import { renderCastModule } from "../../scripts/build-cast-wasm.ts";
import { firstMismatch, makeTorchReference, type TorchReference } from "./torch_reference.ts";
import { randomWords } from "./random.ts";

/** The module's kernel alone, as the pool's workers run it. */
function kernel(src: Uint8Array, from: string, to: string, into?: Uint8Array): Uint8Array {
  const inSize = itemsize(from as "float32");
  const dest = into ?? new Uint8Array((src.byteLength / inSize) * itemsize(to as "float32"));
  const results = () => lookupTable(from as "float16", to as "float32");
  if (!castSimd(src, inSize, from, to, dest, itemsize(to as "float32"), results)) {
    throw new Error(`no kernel ${from}_${to}`);
  }
  return dest;
}

const PAIRS = CONVERT_SOURCES.flatMap((from) => CONVERT_TARGETS.filter((to) => to !== from).map((to) => [from, to]));

test("the embedded cast modules are regenerated from the twin (run scripts/build-cast-wasm.ts)", () => {
  const embedded = readFileSync(new URL("../../src/engine/cpu/cast_simd.generated.ts", import.meta.url), "utf8");
  expect(embedded).toBe(renderCastModule());
});

test("the WebAssembly SIMD kernels are the ones convertCpu() runs here", () => {
  expect(simdCastsAvailable()).toBe(true);
});

/**
 * torch's own results for 1M uniform float32 and float64 patterns (NaN payloads and denormals among
 * them), 1M more concentrated on the exponents where narrowing rounds, denormalises and overflows, and
 * the rounding ties of every target; every pattern of the 8- and 16-bit sources.
 */
describe("convertCpu(), its TypeScript twin and the SIMD kernel all equal torch's .to(dtype) bit for bit", () => {
  let ref: TorchReference;
  beforeAll(() => {
    ref = makeTorchReference(inject("python"), 1_000_000);
  });
  afterAll(() => ref?.remove());

  for (const [from, to] of PAIRS) {
    const what = itemsize(from) <= 2 ? "every input pattern" : "2M patterns and the ties";
    test(`${from} -> ${to} on ${what}`, () => {
      const input = ref.input(from);
      const want = ref.output(from, to);
      expect(firstMismatch(input, itemsize(from), convertCpu(input, from, to), want, itemsize(to))).toBeUndefined();
      expect(firstMismatch(input, itemsize(from), convertCpuTwin(input, from, to), want, itemsize(to)))
        .toBeUndefined();
      expect(firstMismatch(input, itemsize(from), kernel(input, from, to), want, itemsize(to))).toBeUndefined();
    });
  }
});

/**
 * float32 patterns built to hit every rounding decision: each sign and exponent, with mantissas at, just
 * below and just above the halfway point of every target's dropped bits (even and odd kept bits), the
 * extremes, and random low bits; every NaN payload shape. 16.7M patterns per run.
 */
function float32Patterns(): Uint8Array {
  const lows: number[] = [0, 1, 0x7FFFFF, 0x400000, 0x3FFFFF, 0x400001];
  for (const drop of [13, 16, 20, 21]) {
    const half = 1 << (drop - 1);
    for (const kept of [0, 1 << drop, 3 << drop, 0x7FFFFF & ~((1 << drop) - 1)]) {
      lows.push(kept | half, kept | (half - 1), kept | (half + 1), kept);
    }
  }
  const random = randomWords(1 << 24, 0xC0FFEE);
  const out = new Uint32Array(random.length);
  let k = 0;
  for (let sign = 0; sign < 2; sign++) {
    for (let exp = 0; exp < 256; exp++) {
      for (const low of lows) out[k++] = ((sign << 31) | (exp << 23) | low) >>> 0;
    }
  }
  // The rest: random mantissas on exponents spread evenly (denormal, normal, infinity and NaN alike).
  for (; k < out.length; k++) out[k] = ((random[k] & 0x807FFFFF) | ((k & 0xFF) << 23)) >>> 0;
  return new Uint8Array(out.buffer);
}

/** float64 patterns: exponents around float32's range, with the bits just past float32's mantissa at a tie. */
function float64Patterns(): Uint8Array {
  const random = randomWords(1 << 23, 0xBEEF);
  const words = new Uint32Array(random.length);
  for (let k = 0; k < words.length; k += 2) {
    const exp = 0x340 + ((k >> 1) % 0x170); // below float32's denormals to past its overflow
    const sign = (random[k] & 1) << 31;
    let hi = (sign | (exp << 20) | (random[k + 1] & 0xFFFFF)) >>> 0;
    let lo = random[k];
    const shape = (k >> 1) % 8;
    if (shape === 0) lo = (lo & ~0x3FFFFFFF) | 0x10000000; // exactly half of float32's last place
    if (shape === 1) lo = (lo & ~0x1FFFFFFF) >>> 0; // exactly a float32
    if (shape === 2) hi = (hi | 0x7FF00000) >>> 0; // infinity or NaN with a random payload
    words[k] = lo >>> 0;
    words[k + 1] = hi;
  }
  return new Uint8Array(words.buffer);
}

describe("the SIMD kernels equal the TypeScript twin on millions of patterns", () => {
  const f32 = float32Patterns();
  const f64 = float64Patterns();
  for (const to of CONVERT_TARGETS) {
    if (to !== "float32") {
      test(`float32 -> ${to} on ${f32.byteLength / 4} patterns`, () => {
        expect(firstMismatch(f32, 4, kernel(f32, "float32", to), convertCpuTwin(f32, "float32", to), itemsize(to)))
          .toBeUndefined();
      });
    }
    test(`float64 -> ${to} on ${f64.byteLength / 8} patterns`, () => {
      expect(firstMismatch(f64, 8, kernel(f64, "float64", to), convertCpuTwin(f64, "float64", to), itemsize(to)))
        .toBeUndefined();
    });
  }
});

describe("convertCpu() handles any length and alignment", () => {
  const lengths = [1, 2, 15, 17, CAST_CHUNK - 1, CAST_CHUNK, CAST_CHUNK + 1, 3 * CAST_CHUNK + 7];
  const bytes = new Uint8Array(randomWords((3 * CAST_CHUNK + 8) * 2 + 4, 7).buffer);

  test("every cast, on lengths around the kernels' chunk, from and into unaligned views", () => {
    for (const [from, to] of PAIRS) {
      for (const n of lengths) {
        const src = bytes.subarray(1, 1 + n * itemsize(from));
        const into = new Uint8Array(n * itemsize(to) + 3).subarray(3);
        const want = convertCpuTwin(src, from, to);
        const got = convertCpu(src, from, to, into);
        expect(got).toBe(into);
        expect(firstMismatch(src, itemsize(from), got, want, itemsize(to)), `${from} -> ${to}`).toBeUndefined();
        const direct = kernel(src, from, to, new Uint8Array(n * itemsize(to) + 1).subarray(1));
        expect(firstMismatch(src, itemsize(from), direct, want, itemsize(to)), `${from} -> ${to}`).toBeUndefined();
      }
    }
  });

  test("every cast, on lengths around the kernels' chunk, between aligned views", () => {
    for (const [from, to] of PAIRS) {
      for (const n of lengths) {
        const src = bytes.subarray(0, n * itemsize(from));
        const want = convertCpuTwin(src, from, to);
        const got = convertCpu(src, from, to, new Uint8Array(n * itemsize(to) + 8).subarray(8));
        expect(firstMismatch(src, itemsize(from), got, want, itemsize(to)), `${from} -> ${to}`).toBeUndefined();
      }
    }
  });

  test("casts that share the lookup-table memory refill it when they alternate", () => {
    const src = bytes.subarray(0, 4096);
    const first = kernel(src, "float8_e4m3fn", "float16");
    kernel(src, "float8_e5m2", "float16");
    kernel(src, "bfloat16", "float16");
    expect(kernel(src, "float8_e4m3fn", "float16")).toEqual(first);
    expect(first).toEqual(convertCpuTwin(src, "float8_e4m3fn", "float16"));
  });
});
