import { describe, expect, it } from "vitest";
import { openDcp } from "../../src/dcp/mod.ts";
import { CheckpointManager, GpuStateTensor } from "../../src/manager/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { gpuEngineForTests } from "../engine/gpu_fixture.ts";
import { f32, Holder, values } from "./states_fixture.ts";

describe("staging WebGPU tensors (Dawn on a real adapter)", async () => {
  const engine = await gpuEngineForTests();
  it.skipIf(!engine)(
    "async_with_pinned_mem reads GPU buffers back into staging buffers prepared after maybeLoad(); the step holds what the GPU held at save()",
    async () => {
      const device = engine!.context.device;
      const upload = (data: Uint8Array) => {
        const buffer = device.createBuffer({
          size: Math.ceil(data.byteLength / 4) * 4,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        device.queue.writeBuffer(buffer, 0, data);
        return buffer;
      };
      const w = f32([64, 33], (i) => i / 7);
      const half = { dtype: "bfloat16" as const, shape: [3], data: Uint8Array.of(1, 2, 3, 4, 5, 6) }; // 6 bytes: padded copy
      const wBuf = upload(w.data);
      const hBuf = upload(Uint8Array.of(...half.data, 0, 0));
      const model = new Holder({
        w: new GpuStateTensor(device, wBuf, "float32", w.shape),
        h: new GpuStateTensor(device, hBuf, "bfloat16", half.shape),
      });
      const storage = new MemoryStorage();
      const m = new CheckpointManager({
        checkpoint: { enable: true, interval: 1, async_mode: "async_with_pinned_mem", keep_latest_k: 0 },
      }, {
        storage,
        states: { model },
      });
      await m.maybeLoad();
      await new Promise((resolve) => setTimeout(resolve, 20)); // the buffers are prepared meanwhile
      const allocations = m.stagingAllocations;
      expect(allocations).toBe(4); // a MAP_READ buffer and a host buffer per tensor
      await m.save(1);
      // The program moves on at once: the device runs the staging copies queued by save() first.
      device.queue.writeBuffer(wBuf, 0, f32([64, 33], (i) => -i).data);
      await m.save(2);
      await m.close();
      expect(m.stagingAllocations).toBe(allocations);
      const one = await openDcp(storage, "step-1");
      expect(values(await one.readTensor("w"))).toEqual(values(w));
      expect((await one.readTensor("h")).data).toEqual(half.data);
      const two = await openDcp(storage, "step-2");
      expect(values(await two.readTensor("w"))).toEqual(values(f32([64, 33], (i) => -i)));
      await Promise.all([one.close(), two.close()]);
      wBuf.destroy();
      hBuf.destroy();
    },
  );
});
