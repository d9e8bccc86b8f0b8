import { describe, expect, test } from "vitest";
import { renderSeedModule } from "../../scripts/build-seed-wasm.ts";
import { CounterRandom, R, ZIGGURAT } from "../../src/manager/seed_random.ts";
import { fillSeedSimd, seedSimdAvailable } from "../../src/manager/seed_simd.ts";
import { SEED_LAYOUT, SEED_MODULE_BASE64 } from "../../src/manager/seed_simd.generated.ts";

test("the embedded seed module is regenerated from its builder (run scripts/build-seed-wasm.ts)", () => {
  const rendered = renderSeedModule();
  expect(rendered).toContain(JSON.stringify(SEED_MODULE_BASE64));
  expect(rendered).toContain(JSON.stringify(SEED_LAYOUT));
});

test("the WebAssembly generator runs here (the comparisons below judge it)", () => {
  expect(seedSimdAvailable()).toBe(true);
});

/** How the twin's first trial of element i goes: the fast path, a wedge, or the base strip's tail. */
function firstTrial(rng: CounterRandom, i: number): "fast" | "wedge" | "tail" {
  const h = rng.bits(i, 0, 0);
  const layer = h & 127;
  if (h >>> 8 < ZIGGURAT.inside[layer]) return "fast";
  return layer === 0 ? "tail" : "wedge";
}

describe("fillSeedSimd() equals CounterRandom.fillTruncNormal() bit for bit", () => {
  // [start, count, std, a, b]: TorchTitan's normal and truncations, narrow bounds (most draws rejected and
  // drawn again), one-sided and asymmetric bounds, odd starts and lengths, a 2^32 block edge, a start past 2^40.
  const cases: [number, number, number, number, number][] = [
    [0, 4 << 20, 1, -Infinity, Infinity],
    [12345, 1_000_003, 0.02, -2, 2],
    [7, 1_000_001, 0.0625, -0.1875, 0.1875],
    [3, 300_001, 0.004, -2, 2],
    [2 ** 32 - 20_001, 40_003, 1, -Infinity, Infinity],
    [2 ** 40 + 3, 200_001, 1, -0.5, 0.5],
    [99, 100_001, 1, -0.3, 1.7],
    [5, 50_001, 1, 0.5, 1.5],
    [11, 3, 1, -Infinity, Infinity],
  ];
  for (const [start, count, std, a, b] of cases) {
    test(`${count} elements from ${start} of ${std} * N(0, 1) within [${a}, ${b}]`, () => {
      const rng = new CounterRandom(9, `stream ${start}`);
      const twin = new Float32Array(count);
      const wasm = new Float32Array(count);
      rng.fillTruncNormal(twin, start, std, a, b);
      expect(fillSeedSimd(rng, wasm, start, std, a, b)).toBe(true);
      const x = new Uint32Array(twin.buffer);
      const y = new Uint32Array(wasm.buffer);
      const first = x.findIndex((bits, i) => bits !== y[i]);
      expect(first, first < 0 ? "" : `element ${start + first}: ${twin[first]} vs ${wasm[first]}`).toBe(-1);
    });
  }

  test("the cases above reach every path: wedges, the tail beyond R, and bounds that reject fast draws", () => {
    const rng = new CounterRandom(9, "stream 0");
    const seen = { fast: 0, wedge: 0, tail: 0 };
    for (let i = 0; i < 4 << 20; i++) seen[firstTrial(rng, i)]++;
    expect(seen.wedge).toBeGreaterThan(50_000);
    expect(seen.tail).toBeGreaterThan(500);
    const values = new Float32Array(4 << 20);
    fillSeedSimd(rng, values, 0, 1, -Infinity, Infinity);
    expect(values.filter((v) => Math.abs(v) > R).length).toBeGreaterThan(1000);
  });
});
