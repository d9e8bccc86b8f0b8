/**
 * The random numbers of seed checkpoints: a counter-based generator, so element `i` of a tensor depends only
 * on (seed, tensor name, i). Any split of the tensor (ranks, bands of rows) yields the same values, which is
 * what makes a seed checkpoint byte-identical whatever rank count writes it. These are not PyTorch's
 * generator's numbers (a CPU generator's stream depends on call order); the distributions are TorchTitan's.
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

export class CounterRandom {
  readonly #k0: number;
  readonly #k1: number;

  constructor(seed: number, stream: string) {
    this.#k0 = hashString(`${seed}\u0000${stream}`, 0x811c9dc5);
    this.#k1 = hashString(`${stream}\u0000${seed}`, 0x2c1b3c6d);
  }

  /** 32 random bits for (index, draw); index < 2^53. */
  #bits(index: number, draw: number, key: number): number {
    const lo = index >>> 0;
    const hi = Math.floor(index / 4294967296) >>> 0;
    let h = fmix32(key ^ lo);
    h = fmix32(h ^ Math.imul(hi + 1, 0x9e3779b9));
    return fmix32(h ^ Math.imul(draw + 1, 0x27d4eb2f));
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(index: number, draw: number): number {
    const a = this.#bits(index, draw, this.#k0) >>> 5; // 27 bits
    const b = this.#bits(index, draw, this.#k1) >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A standard normal (Box-Muller, cosine branch) from draws 2k and 2k+1. */
  normal(index: number, k: number): number {
    const u1 = 1 - this.uniform(index, 2 * k); // (0, 1]: log is finite
    const u2 = this.uniform(index, 2 * k + 1);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * `std * z` conditioned on lying in [a, b] (absolute bounds, as `nn.init.trunc_normal_`), by rejection:
   * attempt k uses its own draws, so the result is still a function of the index alone.
   */
  truncNormal(index: number, std: number, a: number, b: number): number {
    for (let k = 0; k < 1000; k++) {
      const x = std * this.normal(index, k);
      if (x >= a && x <= b) return x;
    }
    // Unreachable for the bounds TorchTitan uses (at least 3 std wide): 1000 rejections in a row.
    return Math.min(b, Math.max(a, 0));
  }
}
