/**
 * Regenerates src/manager/seed_simd.generated.ts: the seed checkpoints' generator (src/manager/seed_random.ts,
 * the TypeScript twin and reference) as a WebAssembly module. Run: npx deno run --allow-read --allow-write
 * scripts/build-seed-wasm.ts (a test checks the embedded module is current, and another that its values are
 * the twin's bit for bit).
 *
 * `fill(lo, hi, count, std, a, b)` writes elements [hi * 2^32 + lo, + count) of `std * N(0, 1)` conditioned
 * on [a, b] as float32 at OUT (the caller keeps a call inside one 2^32 block of indices):
 * - four elements at a time on SIMD lanes take the twin's first trial: the two murmur3 finalisers on i32x4,
 *   the layer's width and fast-path bound fetched per lane (`v128.load64_lane`, `v128.load32_lane`), the
 *   magnitude `std * (u * width)` on f64x2 (IEEE products, as the twin's), rounded to float32 and given the
 *   draw's sign (rounding is symmetric, so this is the twin's `(sign * std) * x` rounded);
 * - a lane is kept when its draw is on the fast path and its magnitude within min(b, -a), which puts both
 *   signs inside [a, b]; a group with other lanes (about one in ten) is listed without a branch, and after
 *   the SIMD pass its lanes are drawn again by `sample`, the twin's `sample()` from trial 0 in scalar code:
 *   wedges, the tail and bounds exactly as there, with `exp` and `log` imported from the host's `Math` (the
 *   twin's own functions, so the rare paths round alike in every runtime). Drawing them in a pass of their
 *   own keeps the SIMD loop free of branches it would mispredict (that cost more than the draws).
 * The ziggurat's tables are not built in: the host writes this runtime's (ZIGGURAT) into TABLE and HEIGHT,
 * and the three keys of the tensor's stream into KEYS, before calling `fill`.
 */
import { writeFileSync } from "node:fs";
import { LAYERS, MAX_TRIALS, R } from "../src/manager/seed_random.ts";
import { encodeModule, functionCode, sleb, uleb } from "./wasm/encode.ts";

/** Elements per `fill` call. */
export const CHUNK = 16384;
/** Layer k's width per unit of position (f64) at TABLE + 16k, its fast-path bound (i32) at TABLE + 16k + 8. */
const TABLE = 0;
/** The layers' heights: LAYERS + 1 float64s. */
const HEIGHT = TABLE + 16 * LAYERS;
/** The stream's keys k0, k1, k2 (i32). */
const KEYS = HEIGHT + 8 * (LAYERS + 1) + 8;
const OUT = 4096;
/** Groups of four with lanes to draw again: one i32 per group at most (`fill`'s own scratch). */
const LIST = OUT + 4 * CHUNK;
const PAGES = Math.ceil((LIST + CHUNK) / 65536);
if (KEYS + 12 > OUT) throw new Error("the tables overlap the output");

// Function indices: the imports, then the module's own in this order.
const EXP = 0, LOG = 1, TAIL = 2, SAMPLE = 3;

const get = (x: number) => [0x20, ...uleb(x)];
const set = (x: number) => [0x21, ...uleb(x)];
const tee = (x: number) => [0x22, ...uleb(x)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const f64 = (x: number) => [0x44, ...new Uint8Array(Float64Array.of(x).buffer)];
const call = (f: number) => [0x10, ...uleb(f)];
/** A scalar load or store at the address on the stack plus `offset` (`align` is log2 of the width). */
const mem = (op: number, align: number, offset: number) => [op, align, ...uleb(offset)];
const simd = (op: number) => [0xFD, ...uleb(op)];
const v128 = (lanes: number[]) => [...simd(0x0C), ...new Uint8Array(Int32Array.from(lanes).buffer)];

const OP = {
  drop: 0x1A,
  select: 0x1B,
  i32_load: 0x28,
  i32_store: 0x36,
  f64_load: 0x2B,
  f32_store: 0x38,
  i32_eqz: 0x45,
  i32_ne: 0x47,
  i32_lt_u: 0x49,
  i32_ge_u: 0x4F,
  f64_lt: 0x63,
  f64_gt: 0x64,
  f64_le: 0x65,
  f64_ge: 0x66,
  i32_add: 0x6A,
  i32_sub: 0x6B,
  i32_mul: 0x6C,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_u: 0x76,
  i32_ctz: 0x68,
  f64_neg: 0x9A,
  f64_add: 0xA0,
  f64_sub: 0xA1,
  f64_mul: 0xA2,
  f64_div: 0xA3,
  f64_min: 0xA4,
  f32_demote_f64: 0xB6,
  f64_convert_i32_s: 0xB7,
  f64_convert_i32_u: 0xB8,
} as const;

const V = {
  load: 0x00,
  store: 0x0B,
  shuffle: 0x0D,
  i32x4_splat: 0x11,
  f64x2_splat: 0x14,
  i32x4_extract_lane: 0x1B,
  i32x4_lt_s: 0x39,
  f64x2_le: 0x4B,
  and: 0x4E,
  xor: 0x51,
  f32x4_demote_f64x2_zero: 0x5E,
  i32x4_bitmask: 0xA4,
  i32x4_shl: 0xAB,
  i32x4_shr_u: 0xAD,
  i32x4_add: 0xAE,
  i32x4_mul: 0xB5,
  f64x2_mul: 0xF2,
  f64x2_convert_low_i32x4_s: 0xFE,
} as const;

const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], IF = [0x04, 0x40], END = [0x0B], RETURN = [0x0F];
const br = (depth: number) => [0x0C, depth];
const brIf = (depth: number) => [0x0D, depth];
const UNREACHABLE = [0x00];

const C1 = 0x85ebca6b | 0, C2 = 0xc2b2ae35 | 0, SALT_HI = 0x9e3779b9 | 0, SALT_T = 0x27d4eb2f | 0;
const TWO_POW_32 = 4294967296;
const key = (k: number) => [...i32(0), ...mem(OP.i32_load, 2, KEYS + 4 * k)];

/** murmur3's finaliser (the twin's fmix32) on local `h`, in place. */
function fmix(h: number): number[] {
  const xorShift = (n: number) => [...get(h), ...get(h), ...i32(n), OP.i32_shr_u, OP.i32_xor, ...set(h)];
  const mul = (c: number) => [...get(h), ...i32(c), OP.i32_mul, ...set(h)];
  return [...xorShift(16), ...mul(C1), ...xorShift(13), ...mul(C2), ...xorShift(16)];
}

/** salt(hi, t) of the twin: (hi + 1) * SALT_HI ^ (t + 1) * SALT_T. */
const salt = (hi: number[], t: number[]) => [
  ...hi,
  ...i32(1),
  OP.i32_add,
  ...i32(SALT_HI),
  OP.i32_mul,
  ...t,
  ...i32(1),
  OP.i32_add,
  ...i32(SALT_T),
  OP.i32_mul,
  OP.i32_xor,
];

/** Local `h` = the twin's `bits(i, t, k)`: fmix(fmix(key_k ^ lo) ^ salt(hi, t)), inline (calls cost more). */
const bits = (h: number, k: number, lo: number, hi: number, t: number) => [
  ...key(k),
  ...get(lo),
  OP.i32_xor,
  ...set(h),
  ...fmix(h),
  ...get(h),
  ...salt(get(hi), get(t)),
  OP.i32_xor,
  ...set(h),
  ...fmix(h),
];

/** A uniform from 32 bits as the twin's tail takes it: (bits + 1) / 2^32. */
const uniformOpen = (
  b: number[],
) => [...b, OP.f64_convert_i32_u, ...f64(1), OP.f64_add, ...f64(TWO_POW_32), OP.f64_div];

/** tail(lo, hi, t) -> f64: the twin's `#tail`. */
function tail(): number[] {
  const [lo, hi, t, s, at, e, y, h] = [0, 1, 2, 3, 4, 5, 6, 7];
  return functionCode(["i32", "i32", "f64", "f64", "i32"], [
    ...LOOP,
    // at = MAX_TRIALS * (s + 1) + t
    ...get(s),
    ...i32(1),
    OP.i32_add,
    ...i32(MAX_TRIALS),
    OP.i32_mul,
    ...get(t),
    OP.i32_add,
    ...set(at),
    // e = -log(u1) / R; y = -log(u2)
    ...bits(h, 1, lo, hi, at),
    ...uniformOpen(get(h)),
    ...call(LOG),
    OP.f64_neg,
    ...f64(R),
    OP.f64_div,
    ...set(e),
    ...bits(h, 2, lo, hi, at),
    ...uniformOpen(get(h)),
    ...call(LOG),
    OP.f64_neg,
    ...set(y),
    // if (2 * y > e * e) return e
    ...f64(2),
    ...get(y),
    OP.f64_mul,
    ...get(e),
    ...get(e),
    OP.f64_mul,
    OP.f64_gt,
    ...IF,
    ...get(e),
    ...RETURN,
    ...END,
    ...get(s),
    ...i32(1),
    OP.i32_add,
    ...set(s),
    ...br(0),
    ...END,
    ...UNREACHABLE,
  ]);
}

/** Scratch locals of `magnitude`: two i32 (`at`, `u`), one more i32 for draws, two f64 (`x`, `y`). */
interface MagnitudeLocals {
  at: number;
  u: number;
  h2: number;
  x: number;
  y: number;
}

/**
 * The twin's `#magnitude(i, t, h)` inline, leaving an f64 on the stack (NaN for a rejected trial): a block
 * whose early exits carry the value.
 */
function magnitude(lo: number, hi: number, t: number, h: number, l: MagnitudeLocals): number[] {
  const F64_BLOCK = [0x02, 0x7C];
  return [
    ...F64_BLOCK,
    // at = (h & 127) * 16; u = h >>> 8; x = u * SCALE[layer]
    ...get(h),
    ...i32(LAYERS - 1),
    OP.i32_and,
    ...i32(4),
    OP.i32_shl,
    ...set(l.at),
    ...get(h),
    ...i32(8),
    OP.i32_shr_u,
    ...set(l.u),
    ...get(l.u),
    OP.f64_convert_i32_u,
    ...get(l.at),
    ...mem(OP.f64_load, 3, TABLE),
    OP.f64_mul,
    ...set(l.x),
    // if (u < INSIDE[layer]) return x
    ...get(l.x),
    ...get(l.u),
    ...get(l.at),
    ...mem(OP.i32_load, 2, TABLE + 8),
    OP.i32_lt_u,
    ...brIf(0),
    OP.drop,
    // if (layer === 0) return R + tail
    ...get(l.at),
    OP.i32_eqz,
    ...IF,
    ...f64(R),
    ...get(lo),
    ...get(hi),
    ...get(t),
    ...call(TAIL),
    OP.f64_add,
    ...br(1),
    ...END,
    // y = HEIGHT[layer] + (bits(k1) / 2^32) * (HEIGHT[layer + 1] - HEIGHT[layer]); HEIGHT[layer] is at at / 2
    ...get(l.at),
    ...i32(1),
    OP.i32_shr_u,
    ...set(l.at),
    ...bits(l.h2, 1, lo, hi, t),
    ...get(l.at),
    ...mem(OP.f64_load, 3, HEIGHT),
    ...get(l.h2),
    OP.f64_convert_i32_u,
    ...f64(TWO_POW_32),
    OP.f64_div,
    ...get(l.at),
    ...mem(OP.f64_load, 3, HEIGHT + 8),
    ...get(l.at),
    ...mem(OP.f64_load, 3, HEIGHT),
    OP.f64_sub,
    OP.f64_mul,
    OP.f64_add,
    ...set(l.y),
    // y < exp(-0.5 * x * x) ? x : NaN
    ...get(l.x),
    ...f64(NaN),
    ...get(l.y),
    ...f64(-0.5),
    ...get(l.x),
    OP.f64_mul,
    ...get(l.x),
    OP.f64_mul,
    ...call(EXP),
    OP.f64_lt,
    OP.select,
    ...END,
  ];
}

/** sign(h) as the twin has it: 1 - ((h >>> 6) & 2), as a float64. */
const sign = (h: number[]) => [
  ...i32(1),
  ...h,
  ...i32(6),
  OP.i32_shr_u,
  ...i32(2),
  OP.i32_and,
  OP.i32_sub,
  OP.f64_convert_i32_s,
];

/** sample(lo, hi, std, a, b, from) -> f64: the twin's `sample()`. */
function sample(): number[] {
  const [lo, hi, std, a, b, t, h, v] = [0, 1, 2, 3, 4, 5, 6, 7];
  const scratch: MagnitudeLocals = { at: 8, u: 9, h2: 10, x: 11, y: 12 };
  return functionCode(["i32", "f64", "i32", "i32", "i32", "f64", "f64"], [
    ...BLOCK,
    ...LOOP,
    ...get(t),
    ...i32(MAX_TRIALS),
    OP.i32_ge_u,
    ...brIf(1),
    ...bits(h, 0, lo, hi, t),
    // v = sign(h) * std * magnitude
    ...sign(get(h)),
    ...get(std),
    OP.f64_mul,
    ...magnitude(lo, hi, t, h, scratch),
    OP.f64_mul,
    ...tee(v),
    ...get(a),
    OP.f64_ge,
    ...get(v),
    ...get(b),
    OP.f64_le,
    OP.i32_and,
    ...IF,
    ...get(v),
    ...RETURN,
    ...END,
    ...get(t),
    ...i32(1),
    OP.i32_add,
    ...set(t),
    ...br(0),
    ...END,
    ...END,
    ...f64(0),
  ]);
}

/** fmix on four lanes: the expression for local `v`, left in `v`. */
function fmix4(v: number): number[] {
  const xorShift = (n: number) => [
    ...get(v),
    ...get(v),
    ...i32(n),
    ...simd(V.i32x4_shr_u),
    ...simd(V.xor),
    ...set(v),
  ];
  const mul = (c: number) => [...get(v), ...v128([c, c, c, c]), ...simd(V.i32x4_mul), ...set(v)];
  return [...xorShift(16), ...mul(C1), ...xorShift(13), ...mul(C2), ...xorShift(16)];
}

/** fill(lo, hi, count, std, a, b): elements of the band at OUT, four lanes at a time, see the file's comment. */
function fill(): number[] {
  const [lo, hi, count, std, a, b] = [0, 1, 2, 3, 4, 5];
  const [o, end4, end, mask, k] = [6, 7, 8, 9, 10];
  /** Slow groups listed so far, and the one being drawn again. */
  const [n, e] = [11, 12];
  const [lo4, s4, k04, h, u, at, inside, w01, w23, m01, m23, std2, lim2] = [
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
  ];
  /** Each lane's table entry (its width and fast-path bound). */
  const entry = [26, 27, 28, 29];
  /** The element at lane `k` of the group at `o` drawn by `sample`, stored over the lane's float32. */
  const redraw = [
    ...get(o),
    ...get(k),
    ...i32(2),
    OP.i32_shl,
    OP.i32_add,
    ...get(lo),
    ...get(o),
    ...i32(OUT),
    OP.i32_sub,
    ...i32(2),
    OP.i32_shr_u,
    OP.i32_add,
    ...get(k),
    OP.i32_add,
    ...get(hi),
    ...get(std),
    ...get(a),
    ...get(b),
    ...i32(0),
    ...call(SAMPLE),
    OP.f32_demote_f64,
    ...mem(OP.f32_store, 2, 0),
  ];
  return functionCode([...new Array<"i32">(7).fill("i32"), ...new Array<"v128">(17).fill("v128")], [
    // std2 = splat(std); lim2 = splat(min(b, -a)): within it, both signs are inside [a, b]
    ...get(std),
    ...simd(V.f64x2_splat),
    ...set(std2),
    ...get(b),
    ...get(a),
    OP.f64_neg,
    OP.f64_min,
    ...simd(V.f64x2_splat),
    ...set(lim2),
    ...key(0),
    ...simd(V.i32x4_splat),
    ...set(k04),
    ...salt(get(hi), i32(0)),
    ...simd(V.i32x4_splat),
    ...set(s4),
    ...get(lo),
    ...simd(V.i32x4_splat),
    ...v128([0, 1, 2, 3]),
    ...simd(V.i32x4_add),
    ...set(lo4),
    ...i32(OUT),
    ...set(o),
    ...get(count),
    ...i32(2),
    OP.i32_shl,
    ...i32(OUT),
    OP.i32_add,
    ...tee(end),
    ...i32(-16),
    OP.i32_and,
    ...set(end4),
    ...BLOCK,
    ...LOOP,
    ...get(o),
    ...get(end4),
    OP.i32_ge_u,
    ...brIf(1),
    // h = fmix(fmix(k0 ^ lo) ^ salt), four lanes
    ...get(k04),
    ...get(lo4),
    ...simd(V.xor),
    ...set(h),
    ...fmix4(h),
    ...get(h),
    ...get(s4),
    ...simd(V.xor),
    ...set(h),
    ...fmix4(h),
    // u = h >>> 8; at = (h & 127) * 16
    ...get(h),
    ...i32(8),
    ...simd(V.i32x4_shr_u),
    ...set(u),
    ...get(h),
    ...v128([127, 127, 127, 127]),
    ...simd(V.and),
    ...i32(4),
    ...simd(V.i32x4_shl),
    ...set(at),
    // each lane's 16-byte entry, then the widths paired and the bounds gathered by shuffles
    ...[0, 1, 2, 3].flatMap((l) => [
      ...get(at),
      ...simd(V.i32x4_extract_lane),
      l,
      ...simd(V.load),
      4,
      ...uleb(TABLE),
      ...set(entry[l]),
    ]),
    ...[0, 2].flatMap((l) => [
      ...get(entry[l]),
      ...get(entry[l + 1]),
      ...simd(V.shuffle),
      ...[0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
      ...set(l === 0 ? w01 : w23),
    ]),
    ...[0, 2].flatMap((l) => [
      ...get(entry[l]),
      ...get(entry[l + 1]),
      ...simd(V.shuffle),
      ...[8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31],
    ]),
    ...simd(V.shuffle),
    ...[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27],
    ...set(inside),
    // m = std * (u * width), two lanes per f64x2
    ...get(std2),
    ...get(u),
    ...simd(V.f64x2_convert_low_i32x4_s),
    ...get(w01),
    ...simd(V.f64x2_mul),
    ...simd(V.f64x2_mul),
    ...set(m01),
    ...get(std2),
    ...get(u),
    ...get(u),
    ...simd(V.shuffle),
    ...[8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15], // lanes 2 and 3 down to 0 and 1
    ...simd(V.f64x2_convert_low_i32x4_s),
    ...get(w23),
    ...simd(V.f64x2_mul),
    ...simd(V.f64x2_mul),
    ...set(m23),
    // store float32(m) with the sign of bit 7 of h
    ...get(o),
    ...get(m01),
    ...simd(V.f32x4_demote_f64x2_zero),
    ...get(m23),
    ...simd(V.f32x4_demote_f64x2_zero),
    ...simd(V.shuffle),
    ...[0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
    ...get(h),
    ...i32(24),
    ...simd(V.i32x4_shl),
    ...v128([0x80000000, 0x80000000, 0x80000000, 0x80000000]),
    ...simd(V.and),
    ...simd(V.xor),
    ...simd(V.store),
    4,
    0,
    // lanes kept: on the fast path and within lim; the others are drawn again in full
    ...get(u),
    ...get(inside),
    ...simd(V.i32x4_lt_s),
    ...get(m01),
    ...get(lim2),
    ...simd(V.f64x2_le),
    ...get(m23),
    ...get(lim2),
    ...simd(V.f64x2_le),
    ...simd(V.shuffle),
    ...[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27],
    ...simd(V.and),
    ...simd(V.i32x4_bitmask),
    ...i32(15),
    OP.i32_xor,
    ...set(mask), // the lanes to draw again
    // list the group (its offset, whose low 4 bits are free, and those lanes) without a branch: a list
    // entry is written for every group and kept only for one with lanes to draw again
    ...get(n),
    ...i32(2),
    OP.i32_shl,
    ...get(o),
    ...get(mask),
    OP.i32_or,
    ...mem(OP.i32_store, 2, LIST),
    ...get(n),
    ...get(mask),
    ...i32(0),
    OP.i32_ne,
    OP.i32_add,
    ...set(n),
    ...get(o),
    ...i32(16),
    OP.i32_add,
    ...set(o),
    ...get(lo4),
    ...v128([4, 4, 4, 4]),
    ...simd(V.i32x4_add),
    ...set(lo4),
    ...br(0),
    ...END,
    ...END,
    // the last count % 4 elements, one by one
    ...i32(0),
    ...set(k),
    ...BLOCK,
    ...LOOP,
    ...get(o),
    ...get(end),
    OP.i32_ge_u,
    ...brIf(1),
    ...redraw,
    ...get(o),
    ...i32(4),
    OP.i32_add,
    ...set(o),
    ...br(0),
    ...END,
    ...END,
    // the listed groups' lanes, drawn again in full (apart from the loop above, whose branches then stay
    // predictable); one turn per lane, lowest first
    ...BLOCK,
    ...LOOP,
    ...get(e),
    ...get(n),
    OP.i32_ge_u,
    ...brIf(1),
    ...get(e),
    ...i32(2),
    OP.i32_shl,
    ...mem(OP.i32_load, 2, LIST),
    ...set(mask),
    ...get(mask),
    ...i32(-16),
    OP.i32_and,
    ...set(o),
    ...get(mask),
    ...i32(15),
    OP.i32_and,
    ...set(mask),
    ...LOOP,
    ...get(mask),
    OP.i32_ctz,
    ...set(k),
    ...redraw,
    ...get(mask),
    ...get(mask),
    ...i32(1),
    OP.i32_sub,
    OP.i32_and,
    ...tee(mask),
    ...brIf(0),
    ...END,
    ...get(e),
    ...i32(1),
    OP.i32_add,
    ...set(e),
    ...br(0),
    ...END,
    ...END,
  ]);
}

export function seedModuleBytes(): Uint8Array {
  const unary = { params: ["f64"], results: ["f64"] } as const;
  return encodeModule(PAGES, [
    { code: tail(), signature: { params: ["i32", "i32", "i32"], results: ["f64"] } },
    { code: sample(), signature: { params: ["i32", "i32", "f64", "f64", "f64", "i32"], results: ["f64"] } },
    {
      name: "fill",
      code: fill(),
      signature: { params: ["i32", "i32", "i32", "f64", "f64", "f64"], results: [] },
    },
  ], [
    { module: "math", name: "exp", signature: { params: [...unary.params], results: [...unary.results] } },
    { module: "math", name: "log", signature: { params: [...unary.params], results: [...unary.results] } },
  ]);
}

export function renderSeedModule(): string {
  const bytes = seedModuleBytes();
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return [
    "// Generated by scripts/build-seed-wasm.ts from the seed generator (src/manager/seed_random.ts). Do not edit.",
    `/** Where things are in the module's memory: the tables the host writes, and \`fill\`'s output. */`,
    `export const SEED_LAYOUT = ${
      JSON.stringify({ chunk: CHUNK, table: TABLE, height: HEIGHT, keys: KEYS, out: OUT })
    };`,
    `/** The module (${bytes.length} bytes), base64: exports "fill" and "memory", imports math.exp and math.log. */`,
    `export const SEED_MODULE_BASE64 =`,
    `  ${JSON.stringify(btoa(binary))};`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  writeFileSync(`${root}src/manager/seed_simd.generated.ts`, renderSeedModule());
}
