/**
 * Regenerates src/manager/seed_simd.generated.ts: the seed checkpoints' generator (src/manager/seed_random.ts,
 * the TypeScript twin and reference) as a WebAssembly module. Run: npx deno run --allow-read --allow-write
 * scripts/build-seed-wasm.ts (a test checks the embedded module is current, and another that its values are
 * the twin's bit for bit).
 *
 * `fill(lo, hi, count, std, a, b, lim, bf16)` writes elements [hi * 2^32 + lo, + count) of `std * N(0, 1)`
 * conditioned on [a, b] at OUT, as float32, or with `bf16` as bfloat16 (rounded to nearest even, as the
 * CPU twin's cast), so a bfloat16 seed takes no separate cast (the caller keeps a call inside one 2^32 block
 * of indices, and passes `lim`, the largest float32 <= min(b, -a), and `std` as a float32):
 * - four pairs (eight elements) at a time on SIMD lanes take the twin's first trial: its hashes
 *   on i32x4 and its `boxMuller` on f32x4, written once below for one lane or four (`Lanes`), so the
 *   two follow the same float32 operations in the same order;
 * - an element is kept when |value| <= lim, which puts both signs inside [a, b]; a group with other elements
 *   (none for TorchTitan's +-2 bounds, 0.27% of draws for its 3 std head) is listed without a branch, and
 *   after the SIMD pass its elements are drawn again by `sample`, the twin's `sample()` in scalar code
 *   (a first trial inside [a, b] but beyond lim is accepted there). So are an odd first element and the
 *   last few. Drawing them in a pass of their own keeps the SIMD loop free of branches.
 * The host writes the tensor's stream keys into KEYS before calling `fill`.
 */
import { writeFileSync } from "node:fs";
import { MAX_TRIALS, MIX32, PAIR } from "../src/manager/seed_random.ts";
import { encodeModule, functionCode, sleb, uleb, type ValType } from "./wasm/encode.ts";

/** Elements per `fill` call. */
export const CHUNK = 16384;
/** The stream's keys k0, k1 (i32). */
const KEYS = 0;
/** `fill`'s SIMD constants, 16 bytes each. */
const CONSTANTS = 16;
const OUT = 1024;
/** Groups of eight with elements to draw again: one i32 per group at most (`fill`'s own scratch). */
const LIST = OUT + 4 * CHUNK;
/** Per group of four pairs, the radius's bits (then std * r) and the angle's bits (`fill`'s own scratch). */
const H0 = LIST + CHUNK / 2;
const H1 = H0 + 2 * CHUNK;
const PAGES = Math.ceil((H1 + 2 * CHUNK) / 65536);

// Function indices, in the module's order.
const DRAW = 0, SAMPLE = 1;

type E = number[];
const get = (x: number): E => [0x20, ...uleb(x)];
const set = (x: number) => [0x21, ...uleb(x)];
const tee = (x: number) => [0x22, ...uleb(x)];
const i32 = (n: number): E => [0x41, ...sleb(n)];
const f32Bytes = (x: number) => [...new Uint8Array(Float32Array.of(x).buffer)];
const call = (fn: number) => [0x10, ...uleb(fn)];
/** A scalar load or store at the address on the stack plus `offset` (`align` is log2 of the width). */
const mem = (op: number, align: number, offset: number) => [op, align, ...uleb(offset)];
const simd = (op: number) => [0xFD, ...uleb(op)];
const v128i = (lanes: number[]): E => [...simd(0x0C), ...new Uint8Array(Int32Array.from(lanes).buffer)];

const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], IF = [0x04, 0x40], END = [0x0B], RETURN = [0x0F];
const br = (depth: number) => [0x0C, depth];
const brIf = (depth: number) => [0x0D, depth];

const OP = {
  select: 0x1B,
  i32_load: 0x28,
  i32_store: 0x36,
  i32_store16: 0x3B,
  f32_store: 0x38,
  i32_eqz: 0x45,
  i32_ne: 0x47,
  i32_ge_u: 0x4F,
  f64_ge: 0x66,
  f64_le: 0x65,
  i32_add: 0x6A,
  i32_sub: 0x6B,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_shl: 0x74,
  i32_shr_u: 0x76,
  i32_ctz: 0x68,
  f64_promote_f32: 0xBB,
} as const;

const V = {
  load: 0x00,
  store: 0x0B,
  shuffle: 0x0D,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  f32x4_le: 0x45,
  f32x4_abs: 0xE0,
  i32x4_bitmask: 0xA4,
  i16x8_narrow_i32x4_u: 0x86,
  i32x4_add: 0xAE,
} as const;

/**
 * The arithmetic of one lane (scalar i32/f32) or four (i32x4/f32x4 on v128): `boxMuller` and the hash are
 * written once against this, so the scalar and SIMD code compute the same operations in the same order.
 */
interface Lanes {
  int: ValType;
  float: ValType;
  iconst(n: number): E;
  fconst(x: number): E;
  iadd(a: E, b: E): E;
  isub(a: E, b: E): E;
  imul(a: E, b: E): E;
  iand(a: E, b: E): E;
  ior(a: E, b: E): E;
  ixor(a: E, b: E): E;
  ishl(a: E, n: number): E;
  ishrU(a: E, n: number): E;
  ishrS(a: E, n: number): E;
  fadd(a: E, b: E): E;
  fsub(a: E, b: E): E;
  fmul(a: E, b: E): E;
  fdiv(a: E, b: E): E;
  fsqrt(a: E): E;
  /** Signed integer to float (every value converted here is exact in float32). */
  fromInt(a: E): E;
  /** The bits of a float as an integer, and back. */
  asInt(a: E): E;
  asFloat(a: E): E;
  /** Bits of `ifSet` where `mask` is 1, of `ifClear` elsewhere. */
  pick(ifSet: E, ifClear: E, mask: E): E;
}

const op2 = (op: number[]) => (a: E, b: E): E => [...a, ...b, ...op];

const ONE: Lanes = {
  int: "i32",
  float: "f32",
  iconst: i32,
  fconst: (x) => [0x43, ...f32Bytes(x)],
  iadd: op2([0x6A]),
  isub: op2([0x6B]),
  imul: op2([0x6C]),
  iand: op2([0x71]),
  ior: op2([0x72]),
  ixor: op2([0x73]),
  ishl: (a, n) => [...a, ...i32(n), 0x74],
  ishrS: (a, n) => [...a, ...i32(n), 0x75],
  ishrU: (a, n) => [...a, ...i32(n), 0x76],
  fadd: op2([0x92]),
  fsub: op2([0x93]),
  fmul: op2([0x94]),
  fdiv: op2([0x95]),
  fsqrt: (a) => [...a, 0x91],
  fromInt: (a) => [...a, 0xB2],
  asInt: (a) => [...a, 0xBC],
  asFloat: (a) => [...a, 0xBE],
  pick: (ifSet, ifClear, mask) => [...ifClear, ...ifClear, ...ifSet, 0x73, ...mask, 0x71, 0x73],
};

/** Four lanes; their constants are locals of `b` set before its code, once. */
const four = (b: Body): Lanes => ({
  int: "v128",
  float: "v128",
  iconst: (n) => b.constant(v128i([n, n, n, n])),
  fconst: (x) => b.constant([...simd(0x0C), ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x)]),
  iadd: op2(simd(0xAE)),
  isub: op2(simd(0xB1)),
  imul: op2(simd(0xB5)),
  iand: op2(simd(0x4E)),
  ior: op2(simd(0x50)),
  ixor: op2(simd(0x51)),
  ishl: (a, n) => [...a, ...i32(n), ...simd(0xAB)],
  ishrS: (a, n) => [...a, ...i32(n), ...simd(0xAC)],
  ishrU: (a, n) => [...a, ...i32(n), ...simd(0xAD)],
  fadd: op2(simd(0xE4)),
  fsub: op2(simd(0xE5)),
  fmul: op2(simd(0xE6)),
  fdiv: op2(simd(0xE7)),
  fsqrt: (a) => [...a, ...simd(0xE3)],
  fromInt: (a) => [...a, ...simd(0xFA)],
  asInt: (a) => a,
  asFloat: (a) => a,
  pick: (ifSet, ifClear, mask) => [...ifSet, ...ifClear, ...mask, ...simd(0x52)],
});

/** A function body under construction: its locals after `params`, and `let` to name a value once. */
class Body {
  readonly locals: ValType[] = [];
  readonly code: number[] = [];
  readonly #prologue: number[] = [];
  readonly #constants = new Map<string, E>();
  constructor(private readonly params: number) {}

  /**
   * The constant `e` (an expression of constants only), stored at the function's start into the CONSTANTS
   * area and loaded where used: a `v128.const` in a loop is rebuilt from immediates at each use.
   */
  constant(e: E): E {
    const key = e.join(",");
    let got = this.#constants.get(key);
    if (got === undefined) {
      const at = CONSTANTS + 16 * this.#constants.size;
      if (at + 16 > OUT) throw new Error("too many SIMD constants for the CONSTANTS area");
      this.#prologue.push(...i32(0), ...e, ...simd(V.store), 4, ...uleb(at));
      this.#constants.set(key, got = [...i32(0), ...simd(V.load), 4, ...uleb(at)]);
    }
    return got;
  }

  local(type: ValType): number {
    this.locals.push(type);
    return this.params + this.locals.length - 1;
  }

  /** Evaluates `e` into a new local here and returns the expression that reads it. */
  let(e: E, type: ValType): E {
    const x = this.local(type);
    this.code.push(...e, ...set(x));
    return get(x);
  }

  emit(...bytes: number[][]): void {
    for (const b of bytes) this.code.push(...b);
  }

  encode(): number[] {
    return functionCode(this.locals, [...this.#prologue, ...this.code]);
  }
}

/** The twin's mix32. */
function mix(L: Lanes, b: Body, h: E): E {
  const [s0, s1, s2] = MIX32.shifts;
  const [m0, m1] = MIX32.multipliers;
  const xorShift = (x: E, n: number) => b.let(L.ixor(x, L.ishrU(x, n)), L.int);
  let x = xorShift(b.let(h, L.int), s0);
  x = b.let(L.imul(x, L.iconst(m0)), L.int);
  x = xorShift(x, s1);
  x = b.let(L.imul(x, L.iconst(m1)), L.int);
  return xorShift(x, s2);
}

/** The twin's `bits(j, t)` of a pair's first trial in the first 2^32 pairs, from the pair's low 32 bits. */
const firstBits = (L: Lanes, b: Body, k0: E, jlo: E): E => b.let(mix(L, b, L.ixor(k0, jlo)), L.int);

/** The twin's `bits(j, t)` otherwise: `first` hashed again with the salt of its block and trial. */
const saltedBits = (L: Lanes, b: Body, first: E, salt: E): E => b.let(mix(L, b, L.ixor(first, salt)), L.int);

/** The twin's angle bits of a pair, from its radius's bits. */
const angleBits = (L: Lanes, b: Body, h0: E, k1: E): E => b.let(mix(L, b, L.ixor(h0, k1)), L.int);

/** The twin's salt(hi, t): (hi + 1) * 0x9e3779b9 ^ (t + 1) * 0x27d4eb2f, scalar. */
const salt = (hi: E, t: E): E => [
  ...hi,
  ...i32(1),
  OP.i32_add,
  ...i32(0x9e3779b9 | 0),
  0x6C,
  ...t,
  ...i32(1),
  OP.i32_add,
  ...i32(0x27d4eb2f | 0),
  0x6C,
  0x73,
];

/** Horner's rule over `coefficients` (highest power first), as the twin's `horner`. */
function horner(L: Lanes, coefficients: readonly number[], x: E): E {
  let p = L.fconst(coefficients[0]);
  for (const c of coefficients.slice(1)) p = L.fadd(L.fmul(p, x), L.fconst(c));
  return p;
}

/** The first half of the twin's `boxMuller`: std * r, r = sqrt(-2 ln u1) from the radius's bits `h0`. */
function radius(L: Lanes, b: Body, h0: E, std: E): E {
  const ix = b.let(L.iadd(L.asInt(L.fromInt(L.iadd(L.ishrU(h0, 8), L.iconst(1)))), L.iconst(PAIR.split)), L.int);
  const k = L.isub(L.ishrS(ix, 23), L.iconst(127 + 24));
  const m = b.let(L.asFloat(L.iadd(L.iand(ix, L.iconst(0x7fffff)), L.iconst(PAIR.sqrtHalfBits))), L.float);
  const s = b.let(L.fdiv(L.fsub(m, L.fconst(1)), L.fadd(m, L.fconst(1))), L.float);
  const ln = L.fadd(L.fmul(L.fromInt(k), L.fconst(PAIR.ln2)), L.fmul(s, horner(L, PAIR.ln, L.fmul(s, s))));
  return L.fmul(std, L.fsqrt(L.fmul(ln, L.fconst(-2))));
}

/** The rest of the twin's `boxMuller`: the pair's elements, `sr` times cos and sin of the angle's bits `h1`. */
function pairOf(L: Lanes, b: Body, h1: E, sr: E): [E, E] {
  const odd = b.let(L.ishrS(L.ishl(h1, 2), 31), L.int);
  const at = L.iadd(
    L.isub(L.ixor(L.iand(L.ishrU(h1, 8), L.iconst(0x1fffff)), odd), odd),
    L.iand(odd, L.iconst(0x200000)),
  );
  const phi = b.let(L.fmul(L.fromInt(at), L.fconst(PAIR.angle)), L.float);
  const p2 = b.let(L.fmul(phi, phi), L.float);
  const sin = b.let(L.asInt(L.fmul(phi, horner(L, PAIR.sin, p2))), L.int);
  const cos = b.let(L.asInt(horner(L, PAIR.cos, p2)), L.int);
  const swap = b.let(L.ishrS(L.ixor(L.ishl(h1, 1), L.ishl(h1, 2)), 31), L.int);
  const signBit = L.iconst(0x80000000 | 0);
  const x = L.asFloat(L.ixor(L.pick(sin, cos, swap), L.iand(L.ixor(h1, L.ishl(h1, 1)), signBit)));
  const y = L.asFloat(L.ixor(L.pick(cos, sin, swap), L.iand(h1, signBit)));
  return [L.fmul(sr, x), L.fmul(sr, y)];
}

const key = (k: number) => [...i32(0), ...mem(OP.i32_load, 2, KEYS + 4 * k)];

/** draw(ilo, ihi, t, std) -> f32: element hi * 2^32 + lo of trial t, the twin's `#draw`. */
function draw(): number[] {
  const [ilo, ihi, t, std] = [0, 1, 2, 3].map(get);
  const b = new Body(4);
  const jlo = b.let([...get(0), ...i32(1), OP.i32_shr_u, ...ihi, ...i32(31), OP.i32_shl, OP.i32_or], "i32");
  const block = b.let([...ihi, ...i32(1), OP.i32_shr_u], "i32");
  const first = firstBits(ONE, b, key(0), jlo);
  const salted = saltedBits(ONE, b, first, salt(block, t));
  const h0 = b.let([...first, ...salted, ...block, ...t, OP.i32_or, OP.i32_eqz, OP.select], "i32");
  const h1 = angleBits(ONE, b, h0, key(1));
  const [x, y] = pairOf(ONE, b, h1, b.let(radius(ONE, b, h0, std), "f32"));
  b.emit(y, x, ilo, i32(1), [OP.i32_and, OP.select]);
  return b.encode();
}

/** sample(ilo, ihi, std, a, b, from) -> f32: the twin's `sample()`. */
function sample(): number[] {
  const [ilo, ihi, std, a, bound, t] = [0, 1, 2, 3, 4, 5];
  const b = new Body(6);
  const v = b.local("f32");
  b.emit(BLOCK, LOOP, get(t), i32(MAX_TRIALS), [OP.i32_ge_u], brIf(1));
  b.emit(get(ilo), get(ihi), get(t), get(std), call(DRAW), tee(v));
  b.emit([OP.f64_promote_f32], get(a), [OP.f64_ge], get(v), [OP.f64_promote_f32], get(bound), [OP.f64_le]);
  b.emit([OP.i32_and], IF, get(v), RETURN, END);
  b.emit(get(t), i32(1), [OP.i32_add], set(t), br(0), END, END, [0x43, ...f32Bytes(0)]);
  return b.encode();
}

/** fill(lo, hi, count, std, a, b, lim, bf16): see the file's comment. */
function fill(): number[] {
  const [lo, hi, count, std, a, bound, lim, bf16] = [0, 1, 2, 3, 4, 5, 6, 7];
  const b = new Body(8);
  const [x, o, qEnd, n, e, mask, q] = ["i32", "i32", "i32", "i32", "i32", "i32", "i32"].map((t) =>
    b.local(t as ValType)
  );
  const j4 = b.local("v128");
  const value = b.local("f32");
  /** The element `x` + `k` drawn by `sample` from trial 0, stored at its place as float32 or bfloat16. */
  const redraw = (k: E) => {
    const element = [...get(x), ...k, OP.i32_add];
    return [
      ...get(lo),
      ...element,
      OP.i32_add,
      ...get(hi),
      ...get(std),
      ...get(a),
      ...get(bound),
      ...i32(0),
      ...call(SAMPLE),
      ...set(value),
      ...get(bf16),
      ...IF,
      ...element,
      ...i32(1),
      OP.i32_shl,
      ...roundToBf16(ONE, get(value)),
      ...mem(OP.i32_store16, 1, OUT),
      0x05, // else
      ...element,
      ...i32(2),
      OP.i32_shl,
      ...get(value),
      ...mem(OP.f32_store, 2, OUT),
      ...END,
    ];
  };
  // An odd first element alone, so that the SIMD loop starts at a pair.
  b.emit(get(lo), i32(1), [OP.i32_and], get(count), i32(0), [OP.i32_ne, OP.i32_and]);
  b.emit(IF, redraw(i32(0)), i32(1), set(x), END);
  // The pairs from here: j = (lo + x) / 2 and hi / 2 above it, four lanes.
  const s4 = b.let([...salt([...get(hi), ...i32(1), OP.i32_shr_u], i32(0)), ...simd(V.i32x4_splat)], "v128");
  const k0 = b.let([...key(0), ...simd(V.i32x4_splat)], "v128");
  const k1 = b.let([...key(1), ...simd(V.i32x4_splat)], "v128");
  const std4 = b.let([...get(std), ...simd(V.f32x4_splat)], "v128");
  const lim4 = b.let([...get(lim), ...simd(V.f32x4_splat)], "v128");
  b.emit(get(lo), get(x), [OP.i32_add], i32(1), [OP.i32_shr_u]);
  b.emit(get(hi), i32(31), [OP.i32_shl, OP.i32_or], simd(V.i32x4_splat), v128i([0, 1, 2, 3]), simd(V.i32x4_add));
  b.emit(set(j4));
  // Whole groups of eight elements: 16 bytes of each scratch area (q) per group.
  b.emit(get(count), get(x), [OP.i32_sub], i32(-8), [OP.i32_and], i32(1), [OP.i32_shl], set(qEnd));
  // Three loops over the groups, each with a short chain of dependent operations, so that the processor
  // overlaps many groups: the hashes into H0 and H1, std * r over H0, then the pairs.
  const loop = (body: () => void) => {
    b.emit(i32(0), set(q), BLOCK, LOOP, get(q), get(qEnd), [OP.i32_ge_u], brIf(1));
    body();
    b.emit(get(q), i32(16), [OP.i32_add], set(q), br(0), END, END);
  };
  const ifElse = (condition: E, then: () => void, otherwise: () => void) => {
    b.emit(condition, IF);
    then();
    b.emit([0x05]);
    otherwise();
    b.emit(END);
  };
  const L = four(b);
  const at = (area: number) => [...get(q), ...simd(V.load), 4, ...uleb(area)];
  const put = (area: number, v: E) => b.emit(get(q), v, simd(V.store), [4, ...uleb(area)]);
  const hashLoop = (salted: boolean) =>
    loop(() => {
      const first = firstBits(L, b, k0, get(j4));
      const h0 = salted ? saltedBits(L, b, first, s4) : first;
      put(H0, h0);
      put(H1, angleBits(L, b, h0, k1));
      b.emit(get(j4), v128i([4, 4, 4, 4]), simd(V.i32x4_add), set(j4));
    });
  // The first 2^32 pairs hash their index once; later blocks salt that hash (the twin's `bits`).
  ifElse([...get(hi), ...i32(1), OP.i32_shr_u], () => hashLoop(true), () => hashLoop(false));
  loop(() => put(H0, radius(L, b, at(H0), std4)));
  /**
   * The pairs into the output from element x on (`o` its address), as float32 or bfloat16; with `check`,
   * the groups with elements beyond lim listed.
   */
  const pairs = (check: boolean, half: boolean) => {
    b.emit(get(x), i32(half ? 1 : 2), [OP.i32_shl], i32(OUT), [OP.i32_add], set(o));
    loop(() => {
      const [vx, vy] = pairOf(L, b, b.let(at(H1), "v128"), at(H0)).map((v) => b.let(v, "v128"));
      // Elements in order: x0 y0 x1 y1 | x2 y2 x3 y3.
      const first = b.let([...vx, ...vy, ...simd(V.shuffle), ...[
        0,
        1,
        2,
        3,
        16,
        17,
        18,
        19,
        4,
        5,
        6,
        7,
        20,
        21,
        22,
        23,
      ]], "v128");
      const second = b.let([...vx, ...vy, ...simd(V.shuffle), ...[
        8,
        9,
        10,
        11,
        24,
        25,
        26,
        27,
        12,
        13,
        14,
        15,
        28,
        29,
        30,
        31,
      ]], "v128");
      if (half) {
        const narrowed = [...roundToBf16(L, first), ...roundToBf16(L, second), ...simd(V.i16x8_narrow_i32x4_u)];
        b.emit(get(o), narrowed, simd(V.store), [4, 0], get(o), i32(16), [OP.i32_add], set(o));
      } else {
        b.emit(get(o), first, simd(V.store), [4, 0], get(o), second, simd(V.store), [4, 16]);
        b.emit(get(o), i32(32), [OP.i32_add], set(o));
      }
      if (check) {
        const within = (v: E) => [...v, ...simd(V.f32x4_abs), ...lim4, ...simd(V.f32x4_le), ...simd(V.i32x4_bitmask)];
        // The elements to draw again (a NaN-free |v| > lim), listed as x << 8 | mask, kept only when mask != 0.
        b.emit(within(first), within(second), i32(4), [OP.i32_shl, OP.i32_or], i32(255), [0x73], set(mask));
        b.emit(get(n), i32(2), [OP.i32_shl], get(x), i32(8), [OP.i32_shl], get(mask), [OP.i32_or]);
        b.emit(mem(OP.i32_store, 2, LIST), get(n), get(mask), i32(0), [OP.i32_ne, OP.i32_add], set(n));
      }
      b.emit(get(x), i32(8), [OP.i32_add], set(x));
    });
  };
  // No element can leave [-lim, lim] when lim >= 6 std (|r| <= sqrt(48 ln 2) = 5.77, |cos|, |sin| <= 1):
  // TorchTitan's +-2 bounds at std 0.02 and untruncated normals skip the check.
  const checked = [...get(lim), ...get(std), 0x43, ...f32Bytes(6), 0x94, 0x5D]; // lim < 6 * std (f32.lt)
  ifElse(
    checked,
    () => ifElse(get(bf16), () => pairs(true, true), () => pairs(true, false)),
    () => ifElse(get(bf16), () => pairs(false, true), () => pairs(false, false)),
  );
  // The last elements, one by one.
  b.emit(BLOCK, LOOP, get(x), get(count), [OP.i32_ge_u], brIf(1), redraw(i32(0)));
  b.emit(get(x), i32(1), [OP.i32_add], set(x), br(0), END, END);
  // The listed groups' elements, lowest first.
  b.emit(BLOCK, LOOP, get(e), get(n), [OP.i32_ge_u], brIf(1));
  b.emit(get(e), i32(2), [OP.i32_shl], mem(OP.i32_load, 2, LIST), set(mask));
  b.emit(get(mask), i32(8), [OP.i32_shr_u], set(x), get(mask), i32(255), [OP.i32_and], set(mask));
  b.emit(LOOP, redraw([...get(mask), OP.i32_ctz]));
  b.emit(get(mask), get(mask), i32(1), [OP.i32_sub, OP.i32_and], tee(mask), brIf(0), END);
  b.emit(get(e), i32(1), [OP.i32_add], set(e), br(0), END, END);
  return b.encode();
}

/**
 * bfloat16 bits (in the low 16 bits) of float32 values `v`, rounded to nearest even as the CPU twin's cast
 * does (no NaN comes here): (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16.
 */
function roundToBf16(L: Lanes, v: E): E {
  const bits = L.asInt(v);
  return L.ishrU(L.iadd(L.iadd(bits, L.iconst(0x7fff)), L.iand(L.ishrU(bits, 16), L.iconst(1))), 16);
}

export function seedModuleBytes(): Uint8Array {
  return encodeModule({ pages: PAGES }, [
    { code: draw(), signature: { params: ["i32", "i32", "i32", "f32"], results: ["f32"] } },
    { code: sample(), signature: { params: ["i32", "i32", "f32", "f64", "f64", "i32"], results: ["f32"] } },
    {
      name: "fill",
      code: fill(),
      signature: { params: ["i32", "i32", "i32", "f32", "f64", "f64", "f32", "i32"], results: [] },
    },
  ]);
}

export function renderSeedModule(): string {
  const bytes = seedModuleBytes();
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return [
    "// Generated by scripts/build-seed-wasm.ts from the seed generator (src/manager/seed_random.ts). Do not edit.",
    `/** Where things are in the module's memory: the keys the host writes, and \`fill\`'s output. */`,
    `export const SEED_LAYOUT = ${JSON.stringify({ chunk: CHUNK, keys: KEYS, out: OUT })};`,
    `/** The module (${bytes.length} bytes), base64: exports "fill" and "memory". */`,
    `export const SEED_MODULE_BASE64 =`,
    `  ${JSON.stringify(btoa(binary))};`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  writeFileSync(`${root}src/manager/seed_simd.generated.ts`, renderSeedModule());
}
