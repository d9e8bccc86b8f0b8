import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DType } from "../../src/dtype/mod.ts";
import { itemsize } from "../../src/dtype/mod.ts";
import { convertCpu, copyRegionCpu, type GpuEngine, type RegionCopy } from "../../src/engine/mod.ts";
import { type Box, boxNumel, contiguousStrides, intersectBoxes } from "../../src/tensor/mod.ts";
import { gpuEngineForTests } from "./gpu_fixture.ts";
import { randomWords } from "./random.ts";

let gpu: GpuEngine;
beforeAll(async () => {
  gpu = (await gpuEngineForTests())!;
});
afterAll(() => gpu?.dispose());

/** Element-by-element region copy straight from the definition: the oracle for both engines. */
function naiveRegionCopy(job: RegionCopy): void {
  const inSize = itemsize(job.srcDType);
  const outSize = itemsize(job.dstDType);
  const srcStrides = contiguousStrides(job.srcBox.sizes);
  const dstStrides = contiguousStrides(job.dstBox.sizes);
  const n = boxNumel(job.region);
  const regionStrides = contiguousStrides(job.region.sizes);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let t = 0;
    for (let d = 0; d < regionStrides.length; d++) {
      const c = job.region.offsets[d] + Math.floor(i / regionStrides[d]) % job.region.sizes[d];
      s += (c - job.srcBox.offsets[d]) * srcStrides[d];
      t += (c - job.dstBox.offsets[d]) * dstStrides[d];
    }
    const element = convertCpu(job.src.slice(s * inSize, (s + 1) * inSize), job.srcDType, job.dstDType);
    job.dst.set(element, t * outSize);
  }
}

const PAIRS: Array<[DType, DType]> = [
  ["float32", "bfloat16"],
  ["float16", "float8_e4m3fn"],
  ["float64", "float16"],
  ["bfloat16", "float32"],
  ["float8_e5m2", "bfloat16"],
  ["int64", "int64"],
  ["bool", "bool"],
  ["int16", "int16"],
  ["complex128", "complex128"],
];

/** A random region inside a random global shape, and two random chunks that contain it. */
function randomJob(seed: number, from: DType, to: DType): RegionCopy {
  const r = randomWords(64, seed);
  let k = 0;
  const next = (below: number) => r[k++] % below;
  const rank = 1 + next(4);
  const region: Box = { offsets: [], sizes: [] };
  const srcBox: Box = { offsets: [], sizes: [] };
  const dstBox: Box = { offsets: [], sizes: [] };
  for (let d = 0; d < rank; d++) {
    const size = 1 + next(7);
    const offset = next(5);
    region.offsets.push(offset);
    region.sizes.push(size);
    for (const box of [srcBox, dstBox]) {
      const before = next(offset + 1);
      box.offsets.push(offset - before);
      box.sizes.push(before + size + next(4));
    }
  }
  const bytes = (box: Box, dtype: DType) => {
    const words = randomWords(Math.ceil((boxNumel(box) * itemsize(dtype)) / 4) + 1, seed * 31 + box.sizes.length);
    return new Uint8Array(words.buffer, 0, boxNumel(box) * itemsize(dtype));
  };
  return { src: bytes(srcBox, from), srcBox, srcDType: from, dst: bytes(dstBox, to), dstBox, dstDType: to, region };
}

function withDst(job: RegionCopy): RegionCopy {
  return { ...job, dst: job.dst.slice() };
}

describe("copyRegionCpu()", () => {
  for (const [from, to] of PAIRS) {
    test(`${from} -> ${to}: random boxes equal the element-by-element definition and keep bytes outside`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const job = randomJob(seed, from, to);
        const want = withDst(job);
        naiveRegionCopy(want);
        const got = withDst(job);
        copyRegionCpu(got);
        expect(got.dst).toEqual(want.dst);
      }
    });
  }
});

describe("copyRegion() on a real WebGPU adapter", () => {
  for (const [from, to] of PAIRS) {
    test(`${from} -> ${to}: random boxes across random chunkings equal the CPU result`, async () => {
      for (let seed = 1; seed <= 25; seed++) {
        const job = randomJob(seed * 7, from, to);
        const want = withDst(job);
        copyRegionCpu(want);
        const got = withDst(job);
        await gpu.copyRegion(got);
        expect(got.dst).toEqual(want.dst);
      }
    });
  }

  test("a full reshard (rows -> column blocks, float32 -> bfloat16) via GPU equals one via CPU byte for byte", async () => {
    const shape = [301, 203];
    const whole: Box = { offsets: [0, 0], sizes: shape };
    const data = new Uint8Array(randomWords(shape[0] * shape[1], 11).buffer);
    const rowCuts = [0, 100, 250, 301];
    const sources = rowCuts.slice(1).map((end, i) => {
      const box: Box = { offsets: [rowCuts[i], 0], sizes: [end - rowCuts[i], shape[1]] };
      return { box, bytes: data.slice(box.offsets[0] * shape[1] * 4, end * shape[1] * 4) };
    });
    const targets: Box[] = [];
    for (const [r0, r1] of [[0, 151], [151, 301]]) {
      for (const [c0, c1] of [[0, 7], [7, 120], [120, 203]]) {
        targets.push({ offsets: [r0, c0], sizes: [r1 - r0, c1 - c0] });
      }
    }
    // A small staging size forces the planner to cut regions into several windows.
    const small = (await gpuEngineForTests(16 * 1024))!;
    try {
      for (const target of targets) {
        const viaCpu = new Uint8Array(boxNumel(target) * 2);
        const viaGpu = new Uint8Array(boxNumel(target) * 2);
        for (const source of sources) {
          const region = intersectBoxes(source.box, target);
          if (!region) continue;
          const job = {
            src: source.bytes,
            srcBox: source.box,
            srcDType: "float32",
            dstBox: target,
            dstDType: "bfloat16",
            region,
          } as const;
          copyRegionCpu({ ...job, dst: viaCpu });
          await small.copyRegion({ ...job, dst: viaGpu });
        }
        expect(viaGpu).toEqual(viaCpu);
        // And both equal converting the whole tensor, then slicing the target out of it.
        const converted = convertCpu(data, "float32", "bfloat16");
        const want = new Uint8Array(boxNumel(target) * 2);
        copyRegionCpu({
          src: converted,
          srcBox: whole,
          srcDType: "bfloat16",
          dst: want,
          dstBox: target,
          dstDType: "bfloat16",
          region: target,
        });
        expect(viaCpu).toEqual(want);
      }
    } finally {
      small.dispose();
    }
  });
});
