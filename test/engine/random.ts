/** A small seeded generator (xorshift32) so random test inputs are the same on every run. */
export function randomWords(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 0;
  }
  return out;
}

export function randomInt(words: Uint32Array, i: number, below: number): number {
  return words[i % words.length] % below;
}
