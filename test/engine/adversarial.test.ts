import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  acquireGpu,
  convertCpu,
  copyRegionCpu,
  createEngine,
  gatherRowsCpu,
  GpuEngine,
  isSoftwareAdapter,
  parseEngineKind,
  type RegionCopy,
} from "../../src/engine/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { gpuEngineForTests } from "./gpu_fixture.ts";

let gpu: GpuEngine;
beforeAll(async () => {
  gpu = (await gpuEngineForTests())!;
});
afterAll(() => gpu?.dispose());

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof WebdcpError ? error.code : `not a WebdcpError: ${error}`;
  }
  return undefined;
}

async function asyncCodeOf(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (error) {
    return error instanceof WebdcpError ? error.code : `not a WebdcpError: ${error}`;
  }
  return undefined;
}

const box = (offsets: number[], sizes: number[]) => ({ offsets, sizes });
const goodRegion: RegionCopy = {
  src: new Uint8Array(16),
  srcBox: box([0, 0], [2, 2]),
  srcDType: "float32",
  dst: new Uint8Array(8),
  dstBox: box([0, 0], [2, 2]),
  dstDType: "bfloat16",
  region: box([0, 0], [2, 2]),
};

const BAD_REGIONS: Array<[string, Partial<RegionCopy>, string]> = [
  ["a region that leaves the source chunk", { region: box([1, 1], [2, 1]) }, "E_OUT_OF_RANGE"],
  ["a region of another rank", { region: box([0], [2]) }, "E_USAGE"],
  ["a negative offset", { region: box([-1, 0], [1, 1]), srcBox: box([-1, 0], [2, 2]) }, "E_OUT_OF_RANGE"],
  ["a source buffer smaller than its box", { src: new Uint8Array(15) }, "E_OUT_OF_RANGE"],
  ["a destination buffer smaller than its box", { dst: new Uint8Array(7) }, "E_OUT_OF_RANGE"],
  ["a conversion the engine does not do", { srcDType: "int32" }, "E_UNSUPPORTED"],
];

describe("engine input checks (CPU twin and GPU agree on codes)", () => {
  test("convert rejects pairs outside the float family with E_UNSUPPORTED", async () => {
    expect(codeOf(() => convertCpu(new Uint8Array(4), "int32", "float16"))).toBe("E_UNSUPPORTED");
    expect(codeOf(() => convertCpu(new Uint8Array(4), "float32", "float64"))).toBe("E_UNSUPPORTED");
    expect(await asyncCodeOf(() => gpu.convert(new Uint8Array(4), "int32", "float16"))).toBe("E_UNSUPPORTED");
  });

  test("convert rejects a byte length that is not a whole number of elements", async () => {
    expect(codeOf(() => convertCpu(new Uint8Array(3), "float16", "float32"))).toBe("E_USAGE");
    expect(await asyncCodeOf(() => gpu.convert(new Uint8Array(6), "float32", "bfloat16"))).toBe("E_USAGE");
  });

  for (const [what, change, code] of BAD_REGIONS) {
    test(`copyRegion rejects ${what} with ${code}`, async () => {
      const job = { ...goodRegion, ...change };
      expect(codeOf(() => copyRegionCpu(job))).toBe(code);
      expect(await asyncCodeOf(() => gpu.copyRegion(job))).toBe(code);
    });
  }

  test("gatherRows rejects a row index past the last row, a negative one and a ragged source", async () => {
    const base = { src: new Uint8Array(12), srcDType: "uint8", dstDType: "uint8", rowElements: 4 } as const;
    expect(codeOf(() => gatherRowsCpu({ ...base, rows: [0, 3] }))).toBe("E_OUT_OF_RANGE");
    expect(codeOf(() => gatherRowsCpu({ ...base, rows: [-1] }))).toBe("E_OUT_OF_RANGE");
    expect(codeOf(() => gatherRowsCpu({ ...base, rowElements: 5, rows: [0] }))).toBe("E_USAGE");
    expect(await asyncCodeOf(() => gpu.gatherRows({ ...base, rows: [0, 3] }))).toBe("E_OUT_OF_RANGE");
  });

  test("convertGpuBuffer rejects a range outside its buffer", async () => {
    const buffer = gpu.context.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    expect(await asyncCodeOf(() => gpu.convertGpuBuffer({ buffer, byteOffset: 8 }, 3, "float32", "float16")))
      .toBe("E_OUT_OF_RANGE");
    expect(await asyncCodeOf(() => gpu.convertGpuBuffer({ buffer, byteOffset: 2 }, 1, "float32", "float16")))
      .toBe("E_OUT_OF_RANGE");
    buffer.destroy();
  });

  test("parseEngineKind() accepts auto, gpu and cpu only", () => {
    expect(parseEngineKind("gpu")).toBe("gpu");
    expect(codeOf(() => parseEngineKind("fast"))).toBe("E_USAGE");
  });
});

describe("device loss", () => {
  test("an explicit gpu engine reports E_GPU_LOST once its device is gone", async () => {
    const engine = (await gpuEngineForTests())!;
    engine.context.device.destroy();
    await engine.context.device.lost;
    expect(await asyncCodeOf(() => engine.convert(new Uint8Array(8), "float32", "bfloat16"))).toBe("E_GPU_LOST");
  });

  test("an auto engine lets the CPU twin take over after the device is lost", async () => {
    await gpuEngineForTests(); // sets up the Dawn driver path for this process
    // Built by hand: on this machine's software adapter createEngine({ kind: "auto" }) picks the CPU twin.
    const engine = new GpuEngine(await acquireGpu(), true);
    expect(engine.kind).toBe("gpu");
    engine.context.device.destroy();
    await engine.context.device.lost;
    const input = new Uint8Array(Uint32Array.of(0x3F808000, 0x7F800001).buffer);
    expect(await engine.convert(input, "float32", "bfloat16")).toEqual(convertCpu(input, "float32", "bfloat16"));
    expect(engine.kind).toBe("cpu");
    expect(await asyncCodeOf(() => engine.convertToGpuBuffer(input, "float32", "bfloat16"))).toBe("E_GPU_LOST");
  });
});

describe("createEngine()", () => {
  test("cpu gives the twin", async () => {
    const engine = await createEngine({ kind: "cpu" });
    expect(engine.kind).toBe("cpu");
    expect(engine.convertToGpuBuffer).toBeUndefined();
  });

  test("auto prefers the CPU twin to a software adapter, gpu still takes it", async () => {
    // Dawn over SwiftShader here; with no GPU device node in /dev, auto does not even ask for the adapter.
    const adapter = (await gpu.context.gpu!.requestAdapter())!;
    expect(isSoftwareAdapter(adapter)).toBe(true);
    const auto = await createEngine({ kind: "auto" });
    expect(auto.kind).toBe("cpu");
    const explicit = await createEngine({ kind: "gpu" });
    expect(explicit.kind).toBe("gpu");
    explicit.dispose();
  });
});

describe("isSoftwareAdapter()", () => {
  const adapter = (info: Record<string, unknown>) =>
    ({ info: { vendor: "", architecture: "", device: "", description: "", ...info } }) as unknown as GPUAdapter;

  test("recognises fallback flags, CPU adapter types and software rasteriser names", () => {
    expect(isSoftwareAdapter(adapter({ isFallbackAdapter: true, description: "NVIDIA H100" }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ adapterType: "cpu", description: "Some GPU" }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ description: "SwiftShader Device (Subzero)" }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ description: "Microsoft Basic Render Driver" }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ vendor: "mesa", architecture: "lavapipe" }))).toBe(true);
  });

  test("leaves real GPUs alone", () => {
    expect(isSoftwareAdapter(adapter({ isFallbackAdapter: false, description: "NVIDIA H100 80GB HBM3" }))).toBe(false);
    expect(isSoftwareAdapter(adapter({ adapterType: "discrete GPU", vendor: "amd", architecture: "rdna-3" })))
      .toBe(false);
    expect(isSoftwareAdapter(adapter({ description: "Apple M2 Max" }))).toBe(false);
  });
});

describe("convert() into a destination", () => {
  const input = new Uint8Array(Uint32Array.of(0x3F808000, 0x7F800001, 0xC0490FDB, 0x00000001, 0x477FF000).buffer);

  test("convertCpu() fills the destination, on or off a 4-byte boundary, with the bytes it would return", () => {
    for (const to of ["bfloat16", "float16", "float8_e4m3fn", "float32"] as const) {
      const want = convertCpu(input, "float32", to);
      for (const offset of [0, 2]) {
        const backing = new Uint8Array(want.byteLength + 4).fill(0xAA);
        const into = backing.subarray(offset, offset + want.byteLength);
        expect(convertCpu(input, "float32", to, into)).toBe(into);
        expect(into).toEqual(want);
        expect(backing[offset + want.byteLength]).toBe(0xAA);
      }
    }
  });

  test("the GPU engine and the CPU engine fill a destination with the CPU twin's bytes", async () => {
    const want = convertCpu(input, "float32", "bfloat16");
    for (const engine of [gpu, await createEngine({ kind: "cpu" })]) {
      const into = new Uint8Array(want.byteLength);
      expect(await engine.convert(input, "float32", "bfloat16", into)).toBe(into);
      expect(into).toEqual(want);
    }
  });

  test("a destination of the wrong size is E_USAGE on both engines", async () => {
    expect(codeOf(() => convertCpu(input, "float32", "float16", new Uint8Array(9)))).toBe("E_USAGE");
    expect(await asyncCodeOf(() => gpu.convert(input, "float32", "float16", new Uint8Array(11)))).toBe("E_USAGE");
    const cpu = await createEngine({ kind: "cpu" });
    expect(await asyncCodeOf(() => cpu.convert(input, "float32", "float16", new Uint8Array(0)))).toBe("E_USAGE");
  });
});
