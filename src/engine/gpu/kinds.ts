import type { DType } from "../../dtype/mod.ts";
import { itemsize } from "../../dtype/mod.ts";
import { checkConvertible } from "../cpu/convert.ts";

/**
 * Element kinds of the shaders, their one definition: each is declared to WGSL as `KIND_<NAME>` (upper
 * case) by `kindDeclarations`, which the engine puts in front of every shader module. Raw kinds (at and
 * after raw8) copy bits unchanged.
 */
export const KIND = {
  float32: 0,
  bfloat16: 1,
  float16: 2,
  float8_e4m3fn: 3,
  float8_e5m2: 4,
  float64: 5,
  raw8: 6,
  raw16: 7,
  raw32: 8,
} as const;

/** The WGSL declarations of `KIND`: `const KIND_FLOAT32: u32 = 0u;` and so on. */
export function kindDeclarations(): string {
  return Object.entries(KIND).map(([name, value]) => `const KIND_${name.toUpperCase()}: u32 = ${value}u;\n`).join("");
}

/**
 * How a (from, to) pair runs on the GPU: the shader kinds, bits per shader element and `lanes`, the
 * number of shader elements per tensor element. Same-dtype copies move raw bits; 8- and 16-byte
 * elements (int64, float64, complex) become 2 or 4 raw u32 lanes, so every dtype can be copied.
 */
export interface ShaderKinds {
  src: number;
  dst: number;
  srcBits: number;
  dstBits: number;
  lanes: number;
}

export function shaderKinds(from: DType, to: DType): ShaderKinds {
  checkConvertible(from, to);
  if (from === to) {
    const size = itemsize(from);
    if (size === 1) return { src: KIND.raw8, dst: KIND.raw8, srcBits: 8, dstBits: 8, lanes: 1 };
    if (size === 2) return { src: KIND.raw16, dst: KIND.raw16, srcBits: 16, dstBits: 16, lanes: 1 };
    return { src: KIND.raw32, dst: KIND.raw32, srcBits: 32, dstBits: 32, lanes: size / 4 };
  }
  const kind = (d: DType) => KIND[d as keyof typeof KIND];
  return { src: kind(from), dst: kind(to), srcBits: itemsize(from) * 8, dstBits: itemsize(to) * 8, lanes: 1 };
}
