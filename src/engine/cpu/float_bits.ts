/**
 * Scalar bit-level conversions between the engine's float formats, on raw bit patterns held in numbers.
 * They reproduce what real torch (2.15, CPU) writes for `.to(dtype)`, checked exhaustively against it:
 * - every narrowing rounds to nearest even, straight from float32 bits (float64 inputs are first rounded
 *   to float32, as torch does: it converts double -> float -> target, i.e. two roundings);
 * - float32/float64 -> bfloat16 turns every NaN into 0xFFFF (torch's vectorised path), while narrower
 *   sources -> bfloat16 give 0x7FC0 (c10::BFloat16's scalar constructor);
 * - -> float16 keeps a NaN's sign and top payload bits and sets the quiet bit (x86 F16C semantics), and
 *   float16 -> float32 quiets signalling NaNs the same way;
 * - -> float8_e4m3fn saturates every overflow and infinity to +-448 (0x7E), NaN -> 0x7F with sign;
 * - -> float8_e5m2 overflows to infinity; NaN -> 0x7F with sign.
 * The WGSL twin in shaders/convert.wgsl implements the same functions line for line.
 */

/** Rounds a non-negative, finite float32 magnitude to a small float with `mantBits` and exponent `bias`. */
export function roundMagnitude(a: number, mantBits: number, bias: number): number {
  const exp = a >>> 23;
  if (exp >= 128 - bias) {
    // Normal in the target: rebias, then round away the extra mantissa bits (carries move into the exponent).
    const shift = 23 - mantBits;
    const t = a - ((127 - bias) << 23);
    return (t + (1 << (shift - 1)) - 1 + ((t >>> shift) & 1)) >>> shift;
  }
  // Target denormal: value = m * 2^(exp-150) in units of 2^(1-bias-mantBits).
  const shift = 151 - bias - mantBits - exp;
  if (exp === 0 || shift > 24) return 0;
  const m = (a & 0x7FFFFF) | 0x800000;
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

export function f32ToBf16Vector(x: number): number {
  if ((x & 0x7FFFFFFF) > 0x7F800000) return 0xFFFF;
  return (x + 0x7FFF + ((x >>> 16) & 1)) >>> 16 & 0xFFFF;
}

export function f32ToBf16Scalar(x: number): number {
  if ((x & 0x7FFFFFFF) > 0x7F800000) return 0x7FC0;
  return (x + 0x7FFF + ((x >>> 16) & 1)) >>> 16 & 0xFFFF;
}

export function f32ToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7FFFFFFF;
  if (a > 0x7F800000) return sign | 0x7E00 | ((a >>> 13) & 0x3FF);
  if (a === 0x7F800000) return sign | 0x7C00;
  const h = roundMagnitude(a, 10, 15);
  return sign | (h >= 0x7C00 ? 0x7C00 : h);
}

export function f32ToE4m3fn(x: number): number {
  const sign = (x >>> 24) & 0x80;
  const a = x & 0x7FFFFFFF;
  if (a > 0x7F800000) return sign | 0x7F;
  if (a === 0x7F800000) return sign | 0x7E;
  const h = roundMagnitude(a, 3, 7);
  return sign | (h >= 0x7F ? 0x7E : h);
}

export function f32ToE5m2(x: number): number {
  const sign = (x >>> 24) & 0x80;
  const a = x & 0x7FFFFFFF;
  if (a > 0x7F800000) return sign | 0x7F;
  if (a === 0x7F800000) return sign | 0x7C;
  const h = roundMagnitude(a, 2, 15);
  return sign | (h >= 0x7C ? 0x7C : h);
}

export function bf16ToF32(b: number): number {
  return (b << 16) >>> 0;
}

export function f16ToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1F;
  const mant = h & 0x3FF;
  if (exp === 0x1F) return (sign | (mant === 0 ? 0x7F800000 : 0x7FC00000 | (mant << 13))) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Denormal: normalise the mantissa (its top set bit becomes the implicit one).
  const lead = 31 - Math.clz32(mant);
  return (sign | ((lead + 103) << 23) | ((mant << (23 - lead)) & 0x7FFFFF)) >>> 0;
}

export function e5m2ToF32(b: number): number {
  return f16ToF32(b << 8);
}

export function e4m3fnToF32(b: number): number {
  const sign = (b & 0x80) << 24;
  const exp = (b >>> 3) & 0xF;
  const mant = b & 0x7;
  if (exp === 0xF && mant === 0x7) return (sign | 0x7FF00000) >>> 0;
  if (exp !== 0) return (sign | ((exp + 120) << 23) | (mant << 20)) >>> 0;
  if (mant === 0) return sign >>> 0;
  const lead = 31 - Math.clz32(mant);
  return (sign | ((lead + 118) << 23) | ((mant << (23 - lead)) & 0x7FFFFF)) >>> 0;
}

/** float64 (as its high and low 32-bit words) -> float32 bits: round to nearest even, NaN quieted (x86). */
export function f64ToF32(hi: number, lo: number): number {
  const sign = hi & 0x80000000;
  const ahi = hi & 0x7FFFFFFF;
  const exp = ahi >>> 20;
  if (exp === 0x7FF) {
    if ((ahi & 0xFFFFF) === 0 && lo === 0) return (sign | 0x7F800000) >>> 0;
    return (sign | 0x7FC00000 | ((ahi & 0xFFFFF) << 3) | (lo >>> 29)) >>> 0;
  }
  if (exp >= 1151) return (sign | 0x7F800000) >>> 0; // >= 2^128 overflows whatever the mantissa
  // 53-bit significand as (top 24 bits, 29 lower bits collapsed to round + sticky).
  const top = ((ahi & 0xFFFFF) << 3 | lo >>> 29) | (exp !== 0 ? 0x800000 : 0);
  const lower = lo & 0x1FFFFFFF;
  let shift = 0; // extra right shift when the result is a float32 denormal
  let e32 = exp - 896;
  if (e32 <= 0) {
    shift = 1 - e32;
    e32 = 0;
    if (shift > 25) return sign >>> 0;
  }
  const kept = shift === 0 ? top : top >>> shift;
  const dropped = shift === 0 ? 0 : top & ((1 << shift) - 1);
  const half = shift === 0 ? 0x10000000 : 1 << (shift - 1);
  const lowRest = shift === 0 ? lower : dropped * 0x20000000 + lower;
  const halfFull = shift === 0 ? half : half * 0x20000000;
  const roundUp = lowRest > halfFull || (lowRest === halfFull && (kept & 1) === 1);
  // Adding the biased exponent to the significand lets a rounding carry ripple into the exponent.
  const mag = (e32 === 0 ? 0 : (e32 - 1) << 23) + kept + (roundUp ? 1 : 0);
  return (sign | Math.min(mag, 0x7F800000)) >>> 0;
}
