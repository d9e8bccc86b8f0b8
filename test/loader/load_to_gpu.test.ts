import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTensorSource } from "../../src/source/mod.ts";
import { convertCpu, createCpuEngine, type GpuEngine } from "../../src/engine/mod.ts";
import { loadToGpu } from "../../src/loader/mod.ts";
import { writeSafetensorsFolder } from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { gpuEngineForTests } from "../engine/gpu_fixture.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";

function f32Bytes(n: number, seed: number): Uint8Array {
  const v = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 3.5);
  return new Uint8Array(v.buffer);
}

describe("loadToGpu()", () => {
  let engine: GpuEngine;
  const storage = new MemoryStorage();
  const w = f32Bytes(7 * 3, 1); // odd rows: 3 bf16 = 6 bytes per row, so bands must keep 4-byte offsets
  const e = f32Bytes(5 * 4, 2);
  const ids = new Uint8Array(new Int32Array([3, 1, 4, 1, 5]).buffer);

  beforeAll(async () => {
    engine = (await gpuEngineForTests())!;
    await writeSafetensorsFolder(storage, "model", [
      { name: "w", dtype: "float32", shape: [7, 3], data: w },
      { name: "e", dtype: "float32", shape: [5, 4], data: e },
      { name: "ids", dtype: "int32", shape: [5], data: ids },
    ]);
  });
  afterAll(() => engine?.dispose());

  it("casts floating tensors on the GPU in bands and leaves integer tensors as stored", async () => {
    const source = await openTensorSource(storage, "model");
    const seen: number[] = [];
    const { tensors: loaded } = await loadToGpu(source, {
      engine,
      dtype: "bfloat16",
      stagingBytes: 16, // forces many pieces per tensor
      onProgress: (p) => seen.push(p.bytesDone),
    });
    await source.close();
    const device = engine.context.device;
    const gotW = await readGpuBuffer(device, loaded.get("w")!.buffer, loaded.get("w")!.byteLength);
    expect(gotW).toEqual(convertCpu(w, "float32", "bfloat16"));
    const gotE = await readGpuBuffer(device, loaded.get("e")!.buffer, loaded.get("e")!.byteLength);
    expect(gotE).toEqual(convertCpu(e, "float32", "bfloat16"));
    expect(loaded.get("ids")!.dtype).toBe("int32");
    expect(await readGpuBuffer(device, loaded.get("ids")!.buffer, 20)).toEqual(ids);
    expect(seen.at(-1)).toBe(w.byteLength + e.byteLength + ids.byteLength);
    for (const t of loaded.values()) t.buffer.destroy();
  });

  it("uploads stored dtypes unchanged and honours the filter", async () => {
    const source = await openTensorSource(storage, "model");
    const { tensors: loaded } = await loadToGpu(source, { engine, filter: (n) => n === "w" });
    await source.close();
    expect([...loaded.keys()]).toEqual(["w"]);
    expect(await readGpuBuffer(engine.context.device, loaded.get("w")!.buffer, w.byteLength)).toEqual(w);
    loaded.get("w")!.buffer.destroy();
  });

  it("casts on the CPU twin into the given device with the same bits as the GPU", async () => {
    const source = await openTensorSource(storage, "model");
    const device = engine.context.device;
    const { tensors: onGpu } = await loadToGpu(source, { engine, dtype: "float16", stagingBytes: 24 });
    const { tensors: onCpu } = await loadToGpu(source, {
      engine: createCpuEngine(),
      device,
      dtype: "float16",
      stagingBytes: 24,
    });
    await source.close();
    for (const name of ["w", "e", "ids"]) {
      const a = onGpu.get(name)!, b = onCpu.get(name)!;
      expect(b.dtype).toBe(a.dtype);
      expect(await readGpuBuffer(device, b.buffer, b.byteLength)).toEqual(
        await readGpuBuffer(device, a.buffer, a.byteLength),
      );
    }
  });

  it("with a CPU engine and no device acquires one, and the result names it", async () => {
    const source = await openTensorSource(storage, "model");
    const load = await loadToGpu(source, { engine: createCpuEngine(), dtype: "bfloat16" });
    await source.close();
    expect(load.stats.castOn).toBe("cpu");
    const got = await readGpuBuffer(load.device, load.tensors.get("w")!.buffer, load.tensors.get("w")!.byteLength);
    expect(got).toEqual(convertCpu(w, "float32", "bfloat16"));
    load.destroy();
    load.device.destroy();
  });
});
