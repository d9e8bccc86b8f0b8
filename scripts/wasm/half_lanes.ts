/**
 * Kernels for scripts/build-cast-wasm.ts that compute on narrower lanes than the float32 path: eight 16-bit
 * lanes for float16 -> float32 and bfloat16 <-> float16, sixteen bytes for float8 -> 16- and 32-bit targets.
 * Casts whose results (or the top halves of them) fit 16 bits then do a half or a quarter of the float32
 * path's vector work per element.
 */
import { elementConverter } from "../../src/engine/cpu/convert.ts";
import type { ConvertSource, ConvertTarget } from "../../src/dtype/mod.ts";
import { bitselect, type Expr, type FunctionBuilder, load, OP, op2, shift, shuffle, store } from "./encode.ts";

type F = FunctionBuilder;
const and = (a: Expr, b: Expr) => op2(OP.and, a, b);
const or = (a: Expr, b: Expr) => op2(OP.or, a, b);
const add = (a: Expr, b: Expr) => op2(OP.i16x8_add, a, b);
const shl = (a: Expr, n: number) => shift(OP.i16x8_shl, a, n);
const shr = (a: Expr, n: number) => shift(OP.i16x8_shr_u, a, n);
const lt = (a: Expr, b: Expr) => op2(OP.i16x8_lt_s, a, b);
const gt = (a: Expr, b: Expr) => op2(OP.i16x8_gt_s, a, b);
const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);

/**
 * Byte lanes that interleave 16-bit lanes 4h..4h+3 of two vectors (the first one's in the low halves), as
 * x86's punpck{l,h}wd do (V8 emits one instruction for this pattern): with zero first, top halves.
 */
const interleave = (h: number) => range(4 * h, 4).flatMap((k) => [2 * k, 2 * k + 1, 16 + 2 * k, 17 + 2 * k]);

/** Stores eight 16-bit lanes as themselves, or as the top halves of eight 32-bit lanes (low halves zero). */
function storeTop(f: F, outSize: number, o: number, offset: number, r: Expr): void {
  if (outSize === 2) {
    f.emit(store(o, offset, r));
    return;
  }
  const v = f.let(r);
  for (const h of [0, 1]) f.emit(store(o, 2 * offset + 16 * h, shuffle(f.i32x4(0), v, interleave(h))));
}

/**
 * float8 -> 16-bit results, or the top halves of float32 results (all float8 values widen exactly, so
 * their low halves are zero), computed as two byte planes of 16 lanes each, then interleaved. From the
 * twin's 256 results: most magnitudes `m` follow `(m << s) + c` (a rebias; `c`'s low byte is zero, so the
 * low plane is `m << s` and the high one `(m >> (8 - s)) + (c >> 8)`), and the rest (zero and denormals
 * among the first 16 magnitudes, infinity and NaN among the last 16) are looked up, a plane at a time, in
 * `i8x16.swizzle` tables of those 16 magnitudes' results; the sign bit joins the high plane below the
 * magnitude from which the twin drops it (NaN's, for bfloat16). Throws when the twin's results do not
 * have that shape.
 */
function float8Kernel(f: F, from: ConvertSource, to: ConvertTarget, i: number, o: number): void {
  const convert = elementConverter(from, to);
  const outSize = to === "float32" ? 4 : 2;
  const all = range(0, 256).map((b) => convert(b, 0) >>> 0);
  const top = all.map((r) => (outSize === 4 ? r >>> 16 : r));
  const magnitude = top.slice(0, 128);
  const keeps = magnitude.map((
    r,
    m,
  ) => (top[0x80 | m] === (r | 0x8000) ? true : top[0x80 | m] === r ? false : undefined));
  const keepBelow = keeps.indexOf(false) === -1 ? 128 : keeps.indexOf(false);
  const s = Math.log2((magnitude[0x41] - magnitude[0x40]) & 0xFFFF);
  const c = (magnitude[0x40] - (0x40 << s)) & 0xFFFF;
  const odd = range(0, 128).filter((m) => magnitude[m] !== (((m << s) + c) & 0xFFFF));
  if (
    (outSize === 4 && all.some((r) => (r & 0xFFFF) !== 0)) || keeps.includes(undefined) ||
    keeps.slice(keepBelow).some((k) => k) || !(Number.isInteger(s) && s >= 1 && s <= 8) || (c & 0xFF) !== 0 ||
    odd.some((m) => m >= 16 && m < 112)
  ) {
    throw new Error(`float8 kernel: the twin's ${from} -> ${to} results do not follow a rebias`);
  }
  const plane = (entries: number[], high: boolean) => entries.map((r) => (high ? r >>> 8 : r) & 0xFF);
  const bytes = f.let(load(i, 0));
  const m = f.let(and(bytes, f.i8x16(0x7F)));
  let lo = s === 8 ? f.i8x16(0) : shift(OP.i8x16_shl, m, s);
  let hi = op2(OP.i8x16_add, s === 8 ? m : shift(OP.i8x16_shr_u, m, 8 - s), f.i8x16(c >>> 8));
  // Each table selects 0 for the magnitudes outside its 16 (indices of 16 and up), so the planes are the
  // rebias outside the tables' magnitudes, ORed with both tables' picks.
  const tables: Array<{ entries: number[]; index: Expr; mask: Expr }> = [];
  if (odd.some((k) => k < 16)) {
    tables.push({ entries: magnitude.slice(0, 16), index: m, mask: op2(OP.i8x16_lt_s, m, f.i8x16(16)) });
  }
  if (odd.some((k) => k >= 112)) {
    // Magnitudes below 112 wrap to indices of 144 and up.
    const index = f.let(op2(OP.i8x16_sub, m, f.i8x16(112)));
    tables.push({ entries: magnitude.slice(112), index, mask: op2(OP.i8x16_gt_s, m, f.i8x16(111)) });
  }
  if (tables.length > 0) {
    const looked = f.let(tables.map((t) => t.mask).reduce((a, b) => or(a, b)));
    const pick = (high: boolean) =>
      tables.map((t) => op2(OP.swizzle, f.bytes(plane(t.entries, high)), t.index)).reduce((a, b) => or(a, b));
    lo = or(op2(OP.andnot, lo, looked), pick(false));
    hi = or(op2(OP.andnot, hi, looked), pick(true));
  }
  if (keepBelow > 0) {
    let sign = and(bytes, f.i8x16(0x80));
    if (keepBelow < 128) sign = and(sign, op2(OP.i8x16_lt_s, m, f.i8x16(keepBelow)));
    hi = or(hi, sign);
  }
  const low = f.let(lo);
  const high = f.let(hi);
  // punpck{l,h}bw: 16-bit lanes of (low byte, high byte).
  for (const h of [0, 1]) {
    storeTop(f, outSize, o, 16 * h, shuffle(low, high, range(8 * h, 8).flatMap((k) => [k, 16 + k])));
  }
}

/**
 * float16 -> float32 on 16-bit halves: a normal's top half is its magnitude shifted right by 3 and rebiased
 * (infinity and NaN rebiased once more, NaN quieted), its low half the 3 bits shifted out; both are
 * interleaved into float32 lanes. A denormal `m` (m * 2^-24) is taken from the float32 `2^-14 + m * 2^-24`
 * (the same bits with the exponent one higher) minus 2^-14: an exact subtraction of normal numbers (no
 * denormal operand ever reaches the float unit, where x86 cores take a slow path per operand).
 */
function float16Kernel(f: F, i: number, o: number): void {
  for (const h of [0, 1]) {
    const x = f.let(load(i, 16 * h));
    const a = f.let(and(x, f.i16x8(0x7FFF)));
    const normalTop = f.let(add(shr(a, 3), f.i16x8(112 << 7)));
    const low = f.let(shl(a, 13));
    const special = and(gt(a, f.i16x8(0x7BFF)), f.i16x8(112 << 7));
    const quiet = and(gt(a, f.i16x8(0x7C00)), f.i16x8(0x40));
    const top = f.let(or(add(normalTop, special), quiet));
    const denormalTop = f.let(add(normalTop, f.i16x8(1 << 7)));
    const isDenormal = f.let(lt(a, f.i16x8(0x400)));
    const sign = f.let(and(x, f.i16x8(0x8000)));
    for (const q of [0, 1]) {
      const lanes = interleave(q);
      const normal = shuffle(low, top, lanes);
      const denormal = op2(OP.f32x4_sub, shuffle(low, denormalTop, lanes), f.i32x4(113 << 23));
      const mask = shuffle(isDenormal, isDenormal, lanes);
      const magnitude = bitselect(denormal, normal, mask);
      f.emit(store(o, 32 * h + 16 * q, or(magnitude, shuffle(f.i32x4(0), sign, interleave(q)))));
    }
  }
}

/**
 * bfloat16 -> float16 on 16-bit lanes: a float16 normal is the bfloat16 rebiased and shifted left by 3
 * (exact), overflow saturates to infinity, NaN keeps its top payload bits and is quieted; a float16
 * denormal rounds to nearest even through the float32 adder (the bfloat16 bits as a float32 plus 0.5,
 * whose unit in the last place is float16's denormal step, minus 0.5), with bfloat16 denormals zeroed
 * first (they all round to 0, and a denormal operand takes x86 cores' slow path).
 */
function bfloat16Float16Kernel(f: F, i: number, o: number): void {
  const half = f.i32x4(126 << 23);
  for (const h of [0, 1]) {
    const x = f.let(load(i, 16 * h));
    const a = f.let(and(x, f.i16x8(0x7FFF)));
    const normal = shl(op2(OP.i16x8_sub, a, f.i16x8(0x3800)), 3);
    const flushed = f.let(op2(OP.andnot, a, lt(a, f.i16x8(0x80))));
    const rounded = [0, 1].map((q) =>
      op2(OP.i32x4_sub, op2(OP.f32x4_add, shuffle(f.i32x4(0), flushed, interleave(q)), half), half)
    );
    const denormal = op2(OP.i16x8_narrow_i32x4_u, rounded[0], rounded[1]);
    const finite = bitselect(denormal, normal, lt(a, f.i16x8(0x3880)));
    const nan = or(and(shl(a, 3), f.i16x8(0x3F8)), f.i16x8(0x7E00));
    const special = bitselect(nan, f.i16x8(0x7C00), gt(a, f.i16x8(0x7F80)));
    f.emit(store(o, 16 * h, or(bitselect(special, finite, gt(a, f.i16x8(0x477F))), and(x, f.i16x8(0x8000)))));
  }
}

/**
 * float16 -> bfloat16 on 16-bit lanes: a normal rounds to nearest even on the 3 mantissa bits bfloat16
 * lacks and is rebiased (a carry moves into the exponent); a denormal becomes its exact float32 as in
 * float16 -> float32, rounded to nearest even on its low half; infinity stays infinite, and NaN becomes
 * 0x7FC0 whatever its sign (the twin's c10::BFloat16 flavour).
 */
function float16Bfloat16Kernel(f: F, i: number, o: number): void {
  const add32 = (a: Expr, b: Expr) => op2(OP.i32x4_add, a, b);
  const shr32 = (a: Expr, n: number) => shift(OP.i32x4_shr_u, a, n);
  for (const h of [0, 1]) {
    const x = f.let(load(i, 16 * h));
    const a = f.let(and(x, f.i16x8(0x7FFF)));
    const normal = add(shr(add(add(a, f.i16x8(3)), and(shr(a, 3), f.i16x8(1))), 3), f.i16x8(112 << 7));
    const low = f.let(shl(a, 13));
    const top = f.let(add(shr(a, 3), f.i16x8(113 << 7)));
    const rounded = [0, 1].map((q) => {
      const w = f.let(op2(OP.f32x4_sub, shuffle(low, top, interleave(q)), f.i32x4(113 << 23)));
      return shr32(add32(add32(w, f.i32x4(0x7FFF)), and(shr32(w, 16), f.i32x4(1))), 16);
    });
    const denormal = op2(OP.i16x8_narrow_i32x4_u, rounded[0], rounded[1]);
    const finite = bitselect(denormal, normal, lt(a, f.i16x8(0x400)));
    const isNan = f.let(gt(a, f.i16x8(0x7C00)));
    const special = bitselect(f.i16x8(0x7FC0), f.i16x8(0x7F80), isNan);
    const sign = op2(OP.andnot, and(x, f.i16x8(0x8000)), isNan);
    f.emit(store(o, 16 * h, or(bitselect(special, finite, gt(a, f.i16x8(0x7BFF))), sign)));
  }
}

/** Emits the narrow-lane kernel for `from` -> `to` when there is one; false (nothing emitted) otherwise. */
export function halfLaneKernel(f: F, from: ConvertSource, to: ConvertTarget, i: number, o: number): boolean {
  if (from === "float16" && to === "float32") {
    float16Kernel(f, i, o);
    return true;
  }
  if (from === "float16" && to === "bfloat16") {
    float16Bfloat16Kernel(f, i, o);
    return true;
  }
  if (from === "bfloat16" && to === "float16") {
    bfloat16Float16Kernel(f, i, o);
    return true;
  }
  if ((from === "float8_e4m3fn" || from === "float8_e5m2") && to !== "float8_e4m3fn" && to !== "float8_e5m2") {
    float8Kernel(f, from, to, i, o);
    return true;
  }
  return false;
}
