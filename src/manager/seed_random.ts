/**
 * The random numbers of seed checkpoints: a counter-based generator, so element `i` of a tensor depends only
 * on (seed, tensor name, i). Any split of the tensor (ranks, bands of rows) yields the same values, which is
 * what makes a seed checkpoint byte-identical whatever rank count writes it. These are not PyTorch's
 * generator's numbers (a CPU generator's stream depends on call order); the distributions are TorchTitan's.
 *
 * Normals come from the Box-Muller transform, as PyTorch's own CPU `normal_` makes them: elements 2j and
 * 2j + 1 are r cos(theta) and r sin(theta) of pair j, with r = sqrt(-2 ln u1) and theta = 2 pi u2 from two
 * 24-bit uniforms hashed from (keys, j, trial): a pair's first trial hashes its index once, later trials
 * (and pairs past 2^32) hash that hash again with a salt, so a redraw is no simple offset of another pair's
 * first trial. Everything is float32 arithmetic in a fixed order (`f` rounds
 * each step), with `ln`, `sin` and `cos` as polynomials written out below, not `Math`'s: every runtime then
 * rounds alike, and the WebAssembly twin (scripts/build-seed-wasm.ts) computes the same bits four pairs at a
 * time in SIMD without a table or a branch. |values| stop at sqrt(48 ln 2) = 5.77 std (u1 >= 2^-24), as
 * with any 24-bit uniform. A truncated normal's element out of its bounds moves on to trial t + 1 of its
 * pair (the pair's other element keeps its own trial), so a value stays a function of i alone.
 */

const f = Math.fround;
const TWO_POW_32 = 4294967296;
/** Trials of one element before giving up (only bounds far narrower than TorchTitan's 3 std could need them). */
export const MAX_TRIALS = 1000;

/**
 * The float32 constants of one pair's draw, shared with the WebAssembly twin. `ln(m)` for m in [sqrt 1/2,
 * sqrt 2) is 2 atanh(s), s = (m - 1) / (m + 1), by its series to s^7 (|s| < 0.172: the next term is under
 * 2^-25); sin and cos on [0, pi/4] by polynomials to phi^7 and phi^6 fitted for the least greatest error
 * (scripts/seed_polynomials.py): on every angle the generator uses, in float32 arithmetic, within 6.4e-8 and
 * 1.0e-7 of the true values, where Taylor's series one term longer are within 6.0e-8 and 9.0e-8.
 */
export const PAIR = {
  /** ln m = s * (2 + z (2/3 + z (2/5 + z 2/7))), z = s^2: highest power first. */
  ln: [2 / 7, 2 / 5, 2 / 3, 2].map(f),
  sin: [-0.00019517326, 0.008332178, -0.16666655, 1].map(f),
  cos: [-0.0013597847, 0.041656297, -0.49999896, 1].map(f),
  ln2: f(Math.LN2),
  /** Radians per unit of the 21-bit position within an octant: (pi / 4) / 2^21. */
  angle: f(Math.PI / 4 / 2 ** 21),
  /** Added to a float32's bits so that its exponent field splits it at sqrt(2) (0x3f3504f3 is sqrt 1/2). */
  split: 0x3f800000 - 0x3f3504f3,
  sqrtHalfBits: 0x3f3504f3,
} as const;

const bitsOf = new Float32Array(1);
const intsOf = new Int32Array(bitsOf.buffer);
const toBits = (x: number) => ((bitsOf[0] = x), intsOf[0]);
const fromBits = (b: number) => ((intsOf[0] = b), bitsOf[0]);

/** `coefficients` (highest power first) at x by Horner's rule, rounded to float32 at each step. */
function horner(coefficients: readonly number[], x: number): number {
  let p = coefficients[0];
  for (let k = 1; k < coefficients.length; k++) p = f(f(p * x) + coefficients[k]);
  return p;
}

/**
 * The pair drawn from 32-bit hashes h0 (radius) and h1 (angle) with standard deviation `std` (a float32):
 * `out` gets elements 2j and 2j + 1.
 */
export function boxMuller(h0: number, h1: number, std: number, out: Float32Array | number[]): void {
  // ln u1, u1 = n 2^-24 with n in [1, 2^24]: n = 2^k m, m in [sqrt 1/2, sqrt 2), by its float32 bits.
  const ix = (toBits((h0 >>> 8) + 1) + PAIR.split) | 0;
  const k = (ix >> 23) - 127 - 24;
  const m = fromBits((ix & 0x7fffff) + PAIR.sqrtHalfBits);
  const s = f(f(m - 1) / f(m + 1));
  const ln = f(f(k * PAIR.ln2) + f(s * horner(PAIR.ln, f(s * s))));
  const r = f(Math.sqrt(f(ln * -2)));
  // theta: h1's top 3 bits pick the octant, the next 21 the position in it (mirrored in odd octants).
  const odd = (h1 << 2) >> 31;
  const at = ((((h1 >>> 8) & 0x1fffff) ^ odd) - odd) + (odd & 0x200000);
  const phi = f(at * PAIR.angle);
  const p2 = f(phi * phi);
  const sin = toBits(f(phi * horner(PAIR.sin, p2)));
  const cos = toBits(horner(PAIR.cos, p2));
  const swap = ((h1 << 1) ^ (h1 << 2)) >> 31;
  const x = fromBits(((cos & ~swap) | (sin & swap)) ^ ((h1 ^ (h1 << 1)) & 0x80000000));
  const y = fromBits(((sin & ~swap) | (cos & swap)) ^ (h1 & 0x80000000));
  const sr = f(std * r);
  out[0] = f(sr * x);
  out[1] = f(sr * y);
}

/**
 * `mix32`'s constants, shared with the WebAssembly twin: x ^= x >>> s0; x *= m0; x ^= x >>> s1; x *= m1;
 * x ^= x >>> s2.
 */
export const MIX32 = { shifts: [16, 15, 16], multipliers: [0x7feb352d, 0x846ca68b | 0] } as const;
const [S0, S1, S2] = MIX32.shifts;
const [M0, M1] = MIX32.multipliers;

/**
 * A 32-bit integer hash (an int32; `>>> 0` for the unsigned value), Wellons's "lowbias32": a bijection in which
 * every input bit flips each output bit with probability close to 1/2 (closer than murmur3's finaliser at the
 * same cost: two multiplies, three xor-shifts).
 */
function mix32(h: number): number {
  h ^= h >>> S0;
  h = Math.imul(h, M0);
  h ^= h >>> S1;
  h = Math.imul(h, M1);
  return h ^ (h >>> S2);
}

/** FNV-1a of a string's UTF-16 code units, finalised. */
function hashString(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h) >>> 0;
}

export class CounterRandom {
  readonly #k0: number;
  readonly #k1: number;
  readonly #pair = new Float32Array(2);

  constructor(seed: number, stream: string) {
    this.#k0 = hashString(`${seed}\u0000${stream}`, 0x811c9dc5);
    this.#k1 = hashString(`${stream}\u0000${seed}`, 0x2c1b3c6d);
  }

  /** The two keys (radius, angle), for the WebAssembly twin. */
  get keys(): [number, number] {
    return [this.#k0, this.#k1];
  }

  /** The radius's 32 random bits (unsigned) for pair `j` (< 2^52), trial `t`. */
  bits(j: number, t: number): number {
    const first = mix32(this.#k0 ^ (j >>> 0));
    const block = Math.floor(j / TWO_POW_32);
    return (block === 0 && t === 0 ? first : mix32(first ^ salt(block, t))) >>> 0;
  }

  /**
   * Pair `j` of trial `t` into `out`. The angle's bits are hashed from the radius's with the second key: a
   * pair holds 32 bits of randomness either way (it is a function of a 32-bit index within its block), so a
   * second hash of the index would cost more and add nothing.
   */
  #pairOf(j: number, t: number, std: number, out: Float32Array): void {
    const h0 = this.bits(j, t);
    boxMuller(h0, mix32(h0 ^ this.#k1) >>> 0, std, out);
  }

  /** Element `i` (< 2^53) of trial `t` of `std * N(0, 1)`, std a float32. */
  #draw(i: number, t: number, std: number): number {
    const j = Math.floor(i / 2);
    this.#pairOf(j, t, std, this.#pair);
    return this.#pair[i - 2 * j];
  }

  /** Element `i` of `std * N(0, 1)` conditioned on [a, b] (absolute bounds), trials from `from` on. */
  sample(i: number, std: number, a = -Infinity, b = Infinity, from = 0): number {
    const s = f(std);
    for (let t = from; t < MAX_TRIALS; t++) {
      const v = this.#draw(i, t, s);
      if (v >= a && v <= b) return v;
    }
    // Unreachable for bounds at least 3 std wide (a rejection rate under 1%).
    return 0;
  }

  /** Elements [start, start + out.length) of `std * N(0, 1)`. */
  fillNormal(out: Float32Array, start: number, std: number): void {
    this.fillTruncNormal(out, start, std, -Infinity, Infinity);
  }

  /**
   * Elements of `std * N(0, 1)` conditioned on [a, b] (absolute bounds, as `nn.init.trunc_normal_`): a pair's
   * first trial gives both its elements, and an element out of bounds is drawn again by `sample()`.
   */
  fillTruncNormal(out: Float32Array, start: number, std: number, a: number, b: number): void {
    const s = f(std);
    const pair = this.#pair;
    for (let j = 0; j < out.length;) {
      const i = start + j;
      const p = Math.floor(i / 2);
      this.#pairOf(p, 0, s, pair);
      const [x, y] = pair; // sample() below draws into the same scratch
      for (let half = i - 2 * p; half < 2 && j < out.length; half++, j++) {
        const v = half === 0 ? x : y;
        out[j] = v >= a && v <= b ? v : this.sample(start + j, std, a, b, 1);
      }
    }
  }
}

/** What separates the 2^32-pair blocks of a tensor and the trials of a pair. */
function salt(hi: number, t: number): number {
  return Math.imul(hi + 1, 0x9e3779b9) ^ Math.imul(t + 1, 0x27d4eb2f);
}
