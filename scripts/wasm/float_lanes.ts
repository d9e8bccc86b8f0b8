/**
 * The float arithmetic of the cast kernels on four 32-bit lanes (float32 bit patterns in, target bits out),
 * the same functions as the TypeScript twin (src/engine/cpu/float_bits.ts), as WebAssembly SIMD
 * expressions for scripts/build-cast-wasm.ts.
 */
import type { ConvertTarget } from "../../src/dtype/mod.ts";
import { bitselect, type Expr, type FunctionBuilder, OP, op2, shift } from "./encode.ts";

export type F = FunctionBuilder;
export const and = (a: Expr, b: Expr) => op2(OP.and, a, b);
export const or = (a: Expr, b: Expr) => op2(OP.or, a, b);
export const add = (a: Expr, b: Expr) => op2(OP.i32x4_add, a, b);
export const sub = (a: Expr, b: Expr) => op2(OP.i32x4_sub, a, b);
export const shl = (a: Expr, n: number) => shift(OP.i32x4_shl, a, n);
export const shr = (a: Expr, n: number) => shift(OP.i32x4_shr_u, a, n);

/** float32 bits -> bfloat16 bits: round to nearest even, NaN -> `nan` (the twin's two flavours). */
function narrowBf16(f: F, x: Expr, nan: number): Expr {
  const xv = f.let(x);
  const rounded = shr(
    add(add(xv, f.i32x4(0x7FFF)), and(shr(xv, 16), f.i32x4(1))),
    16,
  );
  const isNan = op2(
    OP.i32x4_gt_s,
    and(xv, f.i32x4(0x7FFFFFFF)),
    f.i32x4(0x7F800000),
  );
  return bitselect(f.i32x4(nan), rounded, isNan);
}

/**
 * float32 bits -> a small float with `mantBits` and `bias` (roundMagnitude, saturated at `maxCode`, which
 * infinity also takes), with `nan(a)` for NaN magnitudes and the sign bit moved to `signShift`.
 */
function narrowSmall(
  f: F,
  x: Expr,
  mantBits: number,
  bias: number,
  maxCode: number,
  nan: (a: Expr) => Expr,
  signShift: number,
  signBit: number,
): Expr {
  const drop = 23 - mantBits;
  const xv = f.let(x);
  const a = f.let(and(xv, f.i32x4(0x7FFFFFFF)));
  const t = f.let(sub(a, f.i32x4((127 - bias) << 23)));
  const normal = op2(
    OP.i32x4_min_u,
    shr(
      add(
        add(t, f.i32x4((1 << (drop - 1)) - 1)),
        and(shr(t, drop), f.i32x4(1)),
      ),
      drop,
    ),
    f.i32x4(maxCode),
  );
  // The sum's unit in the last place is the target's denormal step, so the adder rounds for us.
  const magic = f.i32x4((127 + 24 - bias - mantBits) << 23);
  // float32 denormals all round to 0 here; zeroing them first keeps denormal operands out of the adder.
  const tiny = op2(OP.i32x4_lt_s, a, f.i32x4(0x800000));
  const denormal = sub(
    op2(OP.f32x4_add, op2(OP.andnot, a, tiny), magic),
    magic,
  );
  const finite = bitselect(
    denormal,
    normal,
    op2(OP.i32x4_lt_s, a, f.i32x4((128 - bias) << 23)),
  );
  const magnitude = bitselect(
    nan(a),
    finite,
    op2(OP.i32x4_gt_s, a, f.i32x4(0x7F800000)),
  );
  return or(magnitude, and(shr(xv, signShift), f.i32x4(signBit)));
}

export function narrow(f: F, to: ConvertTarget, wideSource: boolean, x: Expr): Expr {
  switch (to) {
    case "float32":
      return x;
    case "bfloat16":
      return narrowBf16(f, x, wideSource ? 0xFFFF : 0x7FC0);
    case "float16":
      return narrowSmall(
        f,
        x,
        10,
        15,
        0x7C00,
        (a) => or(f.i32x4(0x7E00), and(shr(a, 13), f.i32x4(0x3FF))),
        16,
        0x8000,
      );
    case "float8_e4m3fn":
      return narrowSmall(f, x, 3, 7, 0x7E, () => f.i32x4(0x7F), 24, 0x80);
    case "float8_e5m2":
      return narrowSmall(f, x, 2, 15, 0x7C, () => f.i32x4(0x7F), 24, 0x80);
  }
}
