import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { itemsize } from "../../src/dtype/mod.ts";
import { convertCpu, type GpuEngine } from "../../src/engine/mod.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS } from "../../src/dtype/mod.ts";
import { gpuEngineForTests } from "./gpu_fixture.ts";
import { readGpuBuffer } from "./gpu_readback.ts";
import { randomWords } from "./random.ts";
import { firstMismatch, makeTorchReference, type TorchReference } from "./torch_reference.ts";

let gpu: GpuEngine;
let ref: TorchReference;
beforeAll(async () => {
  ref = makeTorchReference(inject("python"));
  gpu = (await gpuEngineForTests())!;
});
afterAll(() => {
  gpu?.dispose();
  ref?.remove();
});

describe("convert on a real WebGPU adapter equals torch and the CPU twin", () => {
  for (const from of CONVERT_SOURCES) {
    for (const to of CONVERT_TARGETS) {
      if (from === to) continue;
      test(`${from} -> ${to}`, async () => {
        const input = ref.input(from);
        const got = await gpu.convert(input, from, to);
        expect(firstMismatch(input, itemsize(from), got, ref.output(from, to), itemsize(to))).toBeUndefined();
        expect(firstMismatch(input, itemsize(from), got, convertCpu(input, from, to), itemsize(to)))
          .toBeUndefined();
      });
    }
  }
});

describe("convert on the GPU, large random inputs", () => {
  const random = new Uint8Array(randomWords(3_000_000, 0x5EED).buffer);
  for (const to of ["bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"] as const) {
    test(`3M random float32 -> ${to} equal the CPU twin`, async () => {
      const got = await gpu.convert(random, "float32", to);
      expect(firstMismatch(random, 4, got, convertCpu(random, "float32", to), itemsize(to))).toBeUndefined();
    });
  }
  test("1M random float64 -> bfloat16 equal the CPU twin", async () => {
    const input = random.subarray(0, 8_000_000);
    const got = await gpu.convert(input, "float64", "bfloat16");
    expect(firstMismatch(input, 8, got, convertCpu(input, "float64", "bfloat16"), 2)).toBeUndefined();
  });
});

describe("convert on the GPU, splitting and alignment", () => {
  test("a job cut into many pieces by a small staging size gives the same bytes", async () => {
    const small = (await gpuEngineForTests(64 * 1024))!;
    try {
      const input = new Uint8Array(randomWords(100_003, 7).buffer);
      expect(small.context.limits.minStorageBufferOffsetAlignment).toBeGreaterThan(0);
      for (const to of ["bfloat16", "float8_e5m2"] as const) {
        const got = await small.convert(input, "float32", to);
        expect(firstMismatch(input, 4, got, convertCpu(input, "float32", to), itemsize(to))).toBeUndefined();
      }
    } finally {
      small.dispose();
    }
  });

  test("odd element counts of 8- and 16-bit sources leave no stray bytes", async () => {
    const input = Uint8Array.of(0x3C, 0x7C, 0x01, 0x80, 0x38);
    expect(await gpu.convert(input, "float8_e4m3fn", "float16")).toEqual(convertCpu(input, "float8_e4m3fn", "float16"));
    const halves = Uint8Array.of(0x00, 0x3C, 0x01, 0x7C, 0xFF, 0xFF);
    expect(await gpu.convert(halves, "float16", "float8_e5m2")).toEqual(convertCpu(halves, "float16", "float8_e5m2"));
  });

  test("a source at an unaligned element offset inside a GPU buffer converts correctly, result stays on the GPU", async () => {
    const device = gpu.context.device;
    const halves = new Uint8Array(randomWords(5000, 99).buffer);
    const buffer = device.createBuffer({
      size: halves.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buffer, 0, halves);
    // Element 3 of float16 data: byte 6, neither word- nor binding-aligned.
    const count = 4000;
    const out = await gpu.convertGpuBuffer({ buffer, byteOffset: 6 }, count, "float16", "float8_e4m3fn");
    const got = await readGpuBuffer(device, out, count);
    const want = convertCpu(halves.subarray(6, 6 + 2 * count), "float16", "float8_e4m3fn");
    expect(firstMismatch(halves.subarray(6), 2, got, want, 1)).toBeUndefined();
    out.destroy();
    buffer.destroy();
  });

  test("convertToGpuBuffer() leaves bfloat16 results on the device", async () => {
    const input = new Uint8Array(randomWords(1001, 3).buffer);
    const out = await gpu.convertToGpuBuffer(input, "float32", "bfloat16");
    expect(await readGpuBuffer(gpu.context.device, out, 2002)).toEqual(convertCpu(input, "float32", "bfloat16"));
    out.destroy();
  });
});
