import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DType } from "../../src/dtype/mod.ts";
import { itemsize } from "../../src/dtype/mod.ts";
import { convertCpu, gatherRowsCpu, type GpuEngine } from "../../src/engine/mod.ts";
import { gpuEngineForTests } from "./gpu_fixture.ts";
import { randomWords } from "./random.ts";

let gpu: GpuEngine;
beforeAll(async () => {
  gpu = (await gpuEngineForTests())!;
});
afterAll(() => gpu?.dispose());

/** llama3's TT -> HF rotary order for one weight: HF[h*hd + j*hd/2 + i] = TT[h*hd + 2*i + j]. */
function rotaryRows(heads: number, headDim: number): number[] {
  const rows: number[] = [];
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < headDim / 2; i++) rows.push(h * headDim + 2 * i + j);
    }
  }
  return rows;
}

describe("gatherRowsCpu()", () => {
  test("reorders rows as llama3's rotary permutation (HF row order 0,2,1,3,4,6,5,7)", () => {
    // 8 rows of 2 uint8 elements: row r holds [r, 100 + r].
    const src = Uint8Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? i / 2 : 100 + (i - 1) / 2));
    const out = gatherRowsCpu({ src, srcDType: "uint8", dstDType: "uint8", rowElements: 2, rows: rotaryRows(2, 4) });
    expect(Array.from(out)).toEqual([0, 100, 2, 102, 1, 101, 3, 103, 4, 104, 6, 106, 5, 105, 7, 107]);
  });

  test("fuses a dtype conversion", () => {
    const src = new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer);
    const out = gatherRowsCpu({ src, srcDType: "float32", dstDType: "bfloat16", rowElements: 2, rows: [1, 0, 1] });
    expect(Array.from(new Uint16Array(out.buffer))).toEqual([0x4040, 0x4080, 0x3F80, 0x4000, 0x4040, 0x4080]);
  });
});

describe("gatherRows() on a real WebGPU adapter equals the CPU twin", () => {
  const cases: Array<[DType, DType, number]> = [
    ["bfloat16", "bfloat16", 33],
    ["float32", "bfloat16", 17],
    ["float8_e4m3fn", "float16", 5],
    ["uint8", "uint8", 3],
    ["int64", "int64", 7],
    ["float16", "float8_e5m2", 1],
  ];
  for (const [from, to, rowElements] of cases) {
    test(`${from} -> ${to}, rows of ${rowElements}: rotary permutation and a random gather`, async () => {
      const rowsCount = 64;
      const src = new Uint8Array(
        randomWords(Math.ceil((rowsCount * rowElements * itemsize(from)) / 4), rowElements).buffer,
      )
        .subarray(0, rowsCount * rowElements * itemsize(from));
      const random = Array.from(randomWords(200, 5), (w) => w % rowsCount);
      for (const rows of [rotaryRows(8, 8), random]) {
        const job = { src, srcDType: from, dstDType: to, rowElements, rows };
        expect(await gpu.gatherRows(job)).toEqual(gatherRowsCpu(job));
      }
    });
  }

  test("a gather cut into pieces by a small staging size gives the same bytes", async () => {
    const small = (await gpuEngineForTests(8 * 1024))!;
    try {
      const rowElements = 300;
      const src = new Uint8Array(randomWords(256 * rowElements, 9).buffer);
      const rows = rotaryRows(16, 16);
      const job = { src, srcDType: "float32", dstDType: "float16", rowElements, rows } as const;
      const got = await small.gatherRows(job);
      expect(got).toEqual(gatherRowsCpu(job));
      expect(got).toEqual(convertCpu(gatherRowsCpu({ ...job, dstDType: "float32" }), "float32", "float16"));
    } finally {
      small.dispose();
    }
  });
});
