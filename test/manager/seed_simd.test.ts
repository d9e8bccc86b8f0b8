import { describe, expect, test } from "vitest";
import { renderSeedModule } from "../../scripts/build-seed-wasm.ts";
import { CounterRandom } from "../../src/manager/seed_random.ts";
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

  test("the cases above reach every path: listed groups, trials past the first, first trials beyond lim but inside the bounds", () => {
    // Element i's first trial is what an unbounded draw gives.
    const firstTrials = (start: number, count: number) => {
      const rng = new CounterRandom(9, `stream ${start}`);
      return Array.from({ length: count }, (_, k) => rng.sample(start + k, 1));
    };
    // [99, 100_001, 1, -0.3, 1.7]: lim is 0.3, so a first trial in (0.3, 1.7] is listed, then kept by `sample`.
    const asymmetric = firstTrials(99, 100_001);
    expect(asymmetric.filter((v) => v > 0.3 && v <= 1.7).length).toBeGreaterThan(20_000);
    expect(asymmetric.filter((v) => v < -0.3 || v > 1.7).length).toBeGreaterThan(20_000);
    // [7, 1_000_001, 0.0625, +-0.1875]: TorchTitan's 3 std head, where the SIMD loop checks every group.
    expect(firstTrials(7, 1_000_001).filter((v) => Math.abs(v) > 3).length).toBeGreaterThan(2_000);
  });
});
