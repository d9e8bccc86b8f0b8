/**
 * The random numbers of seed checkpoints: a counter-based generator, so element `i` of a tensor depends only
 * on (seed, tensor name, i). Any split of the tensor (ranks, bands of rows) yields the same values, which is
 * what makes a seed checkpoint byte-identical whatever rank count writes it. These are not PyTorch's
 * generator's numbers (a CPU generator's stream depends on call order); the distributions are TorchTitan's.
 *
 * Normals come from a 128-layer ziggurat (Marsaglia and Tsang's construction; tables computed below), not
 * Box-Muller: V8's `Math.log`/`cos`/`sin` cost ~100-300 ns a pair and held an 8B seed to ~10 MiB/s, while
 * ~98.8% of ziggurat draws are one hash, one table lookup and one multiply. Trial `t` of element `i` uses
 * 32 bits hashed from (key, i, t): 7 pick the layer, 1 the sign, 24 the position in the layer (float32
 * weights need no more). A draw the ziggurat rejects, or a truncated normal's draw out of bounds, moves on
 * to trial t + 1 of the same element, so the value stays a function of i alone.
 */

/** murmur3's 32-bit finaliser (an int32; `>>> 0` for the unsigned value): every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** FNV-1a of a string's UTF-16 code units, finalised. */
function hashString(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h) >>> 0;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_M24 = 2 ** -24;
/** Trials of one element before giving up (only bounds far narrower than TorchTitan's 3 std could need them). */
export const MAX_TRIALS = 1000;

/** The unnormalised normal density. */
const density = (x: number) => Math.exp(-0.5 * x * x);

/**
 * Ziggurat tables. Layer 0 is the base strip [0, R] x [0, f(R)] with the tail beyond R folded in (its width
 * V / f(R) makes its area V); layer k >= 1 is the box [0, EDGE[k]] x [f(EDGE[k]), f(EDGE[k + 1])], all of
 * area V. A position under EDGE[k + 1] is under the curve whatever the height.
 */
export const LAYERS = 128;
/** Where the base strip ends and the tail begins. */
export const R = 3.442619855899;
const V = 9.91256303526217e-3;
const EDGE = new Float64Array(LAYERS + 1);
EDGE[0] = V / density(R);
EDGE[1] = R;
for (let k = 1; k < LAYERS - 1; k++) EDGE[k + 1] = Math.sqrt(-2 * Math.log(density(EDGE[k]) + V / EDGE[k]));
EDGE[LAYERS] = 0; // the top layer's box reaches the peak
/** Width of a layer per unit of the 24-bit position. */
const SCALE = EDGE.subarray(0, LAYERS).map((w) => w * TWO_POW_M24);
/** Positions (24-bit integers) below this are inside the curve: the fast path. */
const INSIDE = new Int32Array(LAYERS).map((_, k) => Math.ceil(EDGE[k + 1] / SCALE[k]));
const HEIGHT = EDGE.map(density);

/**
 * The tables as this runtime computed them, for the WebAssembly twin (seed_simd.ts): it reads these rather
 * than a copy made at build time, so the two agree wherever `Math.log` and `Math.exp` round differently.
 */
export const ZIGGURAT: { readonly scale: Float64Array; readonly inside: Int32Array; readonly height: Float64Array } = {
  scale: SCALE,
  inside: INSIDE,
  height: HEIGHT,
};

export class CounterRandom {
  readonly #k0: number;
  readonly #k1: number;
  readonly #k2: number;

  constructor(seed: number, stream: string) {
    this.#k0 = hashString(`${seed}\u0000${stream}`, 0x811c9dc5);
    this.#k1 = hashString(`${stream}\u0000${seed}`, 0x2c1b3c6d);
    this.#k2 = hashString(`${seed}\u0001${stream}`, 0x6a09e667);
  }

  /** The three keys (layer draws, then the extra uniforms), for the WebAssembly twin. */
  get keys(): [number, number, number] {
    return [this.#k0, this.#k1, this.#k2];
  }

  /**
   * 32 random bits (unsigned) for element `i` (< 2^53), trial `t`, from key `which`: 0 drives the layer, 1
   * and 2 the rare extra uniforms (a wedge's height, the tail's two), each hashed from its own key.
   */
  bits(i: number, t: number, which: 0 | 1 | 2): number {
    const key = which === 0 ? this.#k0 : which === 1 ? this.#k1 : this.#k2;
    return fmix32(fmix32(key ^ (i >>> 0)) ^ salt(Math.floor(i / TWO_POW_32), t)) >>> 0;
  }

  /** Element `i` of `std * N(0, 1)` conditioned on [a, b] (absolute bounds), trials from `from` on. */
  sample(i: number, std: number, a = -Infinity, b = Infinity, from = 0): number {
    for (let t = from; t < MAX_TRIALS; t++) {
      const h = this.bits(i, t, 0);
      const v = sign(h) * std * this.#magnitude(i, t, h);
      if (v >= a && v <= b) return v; // NaN (a rejected trial) is in no bounds
    }
    // Unreachable for bounds at least 3 std wide (a rejection rate under 1%).
    return 0;
  }

  /** |N(0, 1)| of trial `t` of element `i` whose layer draw is `h`; NaN when the ziggurat rejects the trial. */
  #magnitude(i: number, t: number, h: number): number {
    const layer = h & 127;
    const u = h >>> 8;
    const x = u * SCALE[layer];
    if (u < INSIDE[layer]) return x;
    if (layer === 0) return R + this.#tail(i, t);
    const y = HEIGHT[layer] + (this.bits(i, t, 1) / TWO_POW_32) * (HEIGHT[layer + 1] - HEIGHT[layer]);
    return y < density(x) ? x : NaN; // a wedge's miss draws the whole trial again
  }

  /**
   * How far beyond R a tail draw of trial `t` lands (Marsaglia's exponential rejection). Its misses draw the
   * tail again, not the trial: a trial that reached the tail has the tail's whole mass to place. Attempt `s`
   * uses trial numbers past every trial's (`MAX_TRIALS * (s + 1) + t`), two uniforms in (0, 1] each.
   */
  #tail(i: number, t: number): number {
    for (let s = 0;; s++) {
      const at = MAX_TRIALS * (s + 1) + t;
      const e = -Math.log((this.bits(i, at, 1) + 1) / TWO_POW_32) / R;
      const y = -Math.log((this.bits(i, at, 2) + 1) / TWO_POW_32);
      if (2 * y > e * e) return e;
    }
  }

  /** Elements [start, start + out.length) of `std * N(0, 1)`. */
  fillNormal(out: Float32Array, start: number, std: number): void {
    this.fillTruncNormal(out, start, std, -Infinity, Infinity);
  }

  /**
   * Elements of `std * N(0, 1)` conditioned on [a, b] (absolute bounds, as `nn.init.trunc_normal_`). The
   * loop is `sample()`'s first trial with its fast path inlined (the same operations in the same order, so a
   * band edge gives the bulk's bits); the rest of that trial and any later ones are `sample()`'s.
   */
  fillTruncNormal(out: Float32Array, start: number, std: number, a: number, b: number): void {
    const k0 = this.#k0;
    let hi = Math.floor(start / TWO_POW_32);
    let s = salt(hi, 0);
    // The low 32 bits of the index as an int32 (the same bits XORed in; V8 keeps it a machine integer).
    let lo = start | 0;
    for (let j = 0; j < out.length; j++, lo = (lo + 1) | 0) {
      if (lo === 0 && j > 0) s = salt(++hi, 0);
      const h = fmix32(fmix32(k0 ^ lo) ^ s);
      const layer = h & 127;
      const u = h >>> 8;
      if (u < INSIDE[layer]) {
        const v = sign(h) * std * (u * SCALE[layer]);
        if (v >= a && v <= b) {
          out[j] = v;
          continue;
        }
      }
      // The rest of trial 0 (a wedge or the tail), then later trials if it was rejected or out of bounds.
      const v = sign(h) * std * this.#magnitude(start + j, 0, h);
      out[j] = v >= a && v <= b ? v : this.sample(start + j, std, a, b, 1);
    }
  }
}

/** +1 or -1 from bit 7 of a draw, without a branch (a sign is a coin flip no branch predictor guesses). */
function sign(h: number): number {
  return 1 - ((h >>> 6) & 2);
}

/** What separates the 2^32-element blocks of a tensor and the trials of an element. */
function salt(hi: number, t: number): number {
  return Math.imul(hi + 1, 0x9e3779b9) ^ Math.imul(t + 1, 0x27d4eb2f);
}
