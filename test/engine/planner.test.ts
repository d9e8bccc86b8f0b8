import { describe, expect, test } from "vitest";
import { GpuKernelsRunner } from "../../src/engine/gpu/gpu_engine.ts";
import { PIPELINE_DEPTH } from "../../src/engine/gpu/pipeline.ts";
import {
  dispatchSize,
  type GpuLimits,
  planLinear,
  spanElements,
  splitRegion,
  windowFor,
} from "../../src/engine/gpu/planner.ts";
import { boxNumel } from "../../src/tensor/mod.ts";
import { recordingContext } from "./recording_device.ts";

const SMALL: GpuLimits = {
  maxStorageBufferBindingSize: 4096,
  maxBufferSize: 8192,
  minStorageBufferOffsetAlignment: 256,
  maxComputeWorkgroupsPerDimension: 65535,
};

describe("planner", () => {
  test("dispatchSize() goes 2-D past 65535 workgroups and covers every invocation", () => {
    expect(dispatchSize(64 * 65535, SMALL)).toEqual([65535, 1]);
    const [x, y] = dispatchSize(64 * 65535 + 1, SMALL);
    expect([x, y]).toEqual([65535, 2]);
    expect(x * y * 64).toBeGreaterThanOrEqual(64 * 65535 + 1);
    expect(dispatchSize(0, SMALL)).toEqual([1, 1]);
  });

  test("windowFor() aligns the offset down to the binding alignment and the size up to words", () => {
    expect(windowFor(1000, 1003, SMALL)).toEqual({ offset: 768, size: 236 });
    expect(windowFor(0, 1, SMALL)).toEqual({ offset: 0, size: 4 });
  });

  test("planLinear() cuts at aligned element counts that fit the binding on both sides", () => {
    const pieces = planLinear(10_000, 32, 16, SMALL, 1 << 20);
    expect(pieces.reduce((n, p) => n + p.count, 0)).toBe(10_000);
    for (const p of pieces) {
      expect(p.srcBytes).toBeLessThanOrEqual(SMALL.maxStorageBufferBindingSize);
      expect((p.first * 4) % 256).toBe(0);
      expect((p.first * 2) % 256).toBe(0);
      expect(p.dstBytes % 4).toBe(0);
    }
    expect(pieces.map((p) => p.count).slice(0, 2)).toEqual([768, 768]);
  });

  test("splitRegion() splits only outer dimensions and every piece fits", () => {
    const region = { offsets: [2, 0, 1], sizes: [5, 40, 30] };
    const strides = [64 * 31, 31, 1];
    const dense = [1200, 30, 1];
    const pieces = splitRegion(region, [{ strides, bits: 32 }, { strides: dense, bits: 16 }], 1000);
    expect(pieces.reduce((n, b) => n + boxNumel(b), 0)).toBe(boxNumel(region));
    for (const p of pieces) {
      expect(p.sizes[0]).toBe(1);
      expect(p.sizes[2]).toBe(30);
      expect(spanElements(p.sizes, strides) * 4).toBeLessThanOrEqual(1000);
    }
    // A region that fits stays whole.
    expect(splitRegion(region, [{ strides, bits: 32 }], 1 << 20)).toHaveLength(1);
  });
});

describe("pipelined runner on a recording device", () => {
  test("splits a conversion under small limits, keeps bindings aligned and inside the limits", async () => {
    const { context, recording } = recordingContext(SMALL);
    const runner = new GpuKernelsRunner(context);
    expect(runner.stagingBytes).toBe(4096);
    await runner.convert(new Uint8Array(40_000), "float32", "bfloat16");
    // 10,000 elements at most (4096 - 260) / 4 = 959 -> 768 per piece: 14 pieces.
    expect(recording.dispatches).toHaveLength(14);
    for (const group of recording.bindings) {
      for (const b of group) {
        expect(b.offset % 256).toBe(0);
        expect(b.size % 4).toBe(0);
        expect(b.size).toBeLessThanOrEqual(SMALL.maxStorageBufferBindingSize);
      }
    }
    for (const w of recording.writes) {
      expect(w.offset % 4).toBe(0);
      expect(w.size % 4).toBe(0);
    }
    for (const b of recording.buffers) expect(b.size).toBeLessThanOrEqual(SMALL.maxBufferSize);
    expect(recording.maxInFlight).toBeLessThanOrEqual(PIPELINE_DEPTH);
    expect(recording.maxInFlight).toBeGreaterThan(1);
  });

  test("reuses its staging buffers: a second job allocates nothing", async () => {
    const { context, recording } = recordingContext(SMALL);
    const runner = new GpuKernelsRunner(context);
    await runner.convert(new Uint8Array(40_000), "float32", "bfloat16");
    const afterFirst = recording.buffers.length;
    expect(afterFirst).toBe(5 * PIPELINE_DEPTH);
    await runner.convert(new Uint8Array(80_000), "float32", "float16");
    await runner.gatherRows({
      src: new Uint8Array(4000),
      srcDType: "float32",
      dstDType: "bfloat16",
      rowElements: 10,
      rows: [3, 2, 1],
    });
    expect(recording.buffers.length).toBe(afterFirst);
  });

  test("a region copy under small limits binds only windows that fit", async () => {
    const { context, recording } = recordingContext(SMALL);
    const runner = new GpuKernelsRunner(context);
    const srcBox = { offsets: [0, 0], sizes: [64, 100] };
    const region = { offsets: [10, 5], sizes: [30, 90] };
    await runner.copyRegion({
      src: new Uint8Array(64 * 100 * 4),
      srcBox,
      srcDType: "float32",
      dst: new Uint8Array(30 * 90 * 2),
      dstBox: region,
      dstDType: "bfloat16",
      region,
    });
    expect(recording.dispatches.length).toBeGreaterThan(1);
    for (const group of recording.bindings) {
      const src = group.find((b) => b.binding === 0)!;
      expect(src.size).toBeLessThanOrEqual(SMALL.maxStorageBufferBindingSize);
    }
  });
});
