/**
 * The random numbers of seed checkpoints: a counter-based generator, so element `i` of a tensor depends only
 * on (seed, tensor name, i). Any split of the tensor (ranks, bands of rows) yields the same values, which is
 * what makes a seed checkpoint byte-identical whatever rank count writes it. These are not PyTorch's
 * generator's numbers (a CPU generator's stream depends on call order); the distributions are TorchTitan's.
 *
 * Elements 2p and 2p+1 are the two Box-Muller normals of pair p (independent by construction), each draw
 * from two 32-bit hashes of (key, p, attempt): float32 weights need no more, and 32-bit uniforms bound a
 * normal at about 6.7 std, far outside every truncation TorchTitan uses.
 */

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of a string's UTF-16 code units, finalised. */
function hashString(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

const TWO_PI = 2 * Math.PI;
const TWO_POW_32 = 4294967296;

export class CounterRandom {
  readonly #k0: number;
  readonly #k1: number;

  constructor(seed: number, stream: string) {
    this.#k0 = hashString(`${seed}\u0000${stream}`, 0x811c9dc5);
    this.#k1 = hashString(`${stream}\u0000${seed}`, 0x2c1b3c6d);
  }

  /** 32 random bits for (pair, attempt, which of two); pair < 2^53. */
  bits(pair: number, attempt: number, which: number): number {
    const hi = Math.floor(pair / TWO_POW_32);
    let h = fmix32((which === 0 ? this.#k0 : this.#k1) ^ (pair >>> 0));
    h = fmix32(h ^ Math.imul(hi + 1, 0x9e3779b9) ^ Math.imul(attempt + 1, 0x27d4eb2f));
    return h;
  }

  /** The standard normal of element `i` at attempt `k`. */
  normal(i: number, k: number): number {
    const pair = Math.floor(i / 2);
    const u1 = (this.bits(pair, k, 0) + 1) / TWO_POW_32; // (0, 1]: log is finite
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * (this.bits(pair, k, 1) / TWO_POW_32);
    return i % 2 === 0 ? r * Math.cos(theta) : r * Math.sin(theta);
  }

  /** Elements [start, start + out.length) of `std * N(0, 1)`. */
  fillNormal(out: Float32Array, start: number, std: number): void {
    let j = 0;
    if (start % 2 === 1 && out.length > 0) out[j++] = std * this.normal(start, 0);
    // bits() inlined for the hot loop (keys in locals, the high-word salt once per 2^32 pairs); the same
    // operations in the same order as normal(), so a band edge gives the bulk's bits.
    const k0 = this.#k0, k1 = this.#k1;
    const attemptSalt = Math.imul(1, 0x27d4eb2f);
    let saltHi = -1, salt = 0;
    for (; j + 1 < out.length; j += 2) {
      const pair = (start + j) / 2;
      const hi = Math.floor(pair / TWO_POW_32);
      if (hi !== saltHi) [saltHi, salt] = [hi, Math.imul(hi + 1, 0x9e3779b9) ^ attemptSalt];
      const lo = pair >>> 0;
      const b0 = fmix32(fmix32(k0 ^ lo) ^ salt);
      const b1 = fmix32(fmix32(k1 ^ lo) ^ salt);
      const r = Math.sqrt(-2 * Math.log((b0 + 1) / TWO_POW_32));
      const theta = TWO_PI * (b1 / TWO_POW_32);
      out[j] = std * (r * Math.cos(theta));
      out[j + 1] = std * (r * Math.sin(theta));
    }
    if (j < out.length) out[j] = std * this.normal(start + j, 0);
  }

  /**
   * Elements of `std * N(0, 1)` conditioned on [a, b] (absolute bounds, as `nn.init.trunc_normal_`), by
   * rejection: attempt k of element i uses pair draws of its own, so the result is still a function of i.
   */
  fillTruncNormal(out: Float32Array, start: number, std: number, a: number, b: number): void {
    this.fillNormal(out, start, std);
    for (let j = 0; j < out.length; j++) {
      let x = out[j];
      for (let k = 1; (x < a || x > b) && k < 1000; k++) x = std * this.normal(start + j, k);
      // 1000 rejections in a row cannot happen for bounds at least 3 std wide.
      out[j] = x < a || x > b ? 0 : x;
    }
  }
}
