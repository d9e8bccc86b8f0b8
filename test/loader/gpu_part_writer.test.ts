import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GpuEngine } from "../../src/engine/mod.ts";
import { GpuPartWriter } from "../../src/loader/gpu_part_writer.ts";
import { gpuEngineForTests } from "../engine/gpu_fixture.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";

describe("GpuPartWriter", () => {
  let engine: GpuEngine;
  beforeAll(async () => {
    engine = (await gpuEngineForTests())!;
  });
  afterAll(() => engine?.dispose());

  it("puts every byte where it belongs whatever the pieces' offsets, lengths and order", async () => {
    const device = engine.context.device;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 61 }),
        fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        async (length, cutsRaw, seed) => {
          const data = Uint8Array.from({ length }, (_, i) => (i * 37 + seed) & 0xff);
          const cuts = [...new Set(cutsRaw.map((c) => c % length).filter((c) => c > 0))].sort((a, b) => a - b);
          const bounds = [0, ...cuts, length];
          const pieces = bounds.slice(1).map((end, i) => [bounds[i], end]);
          // A seeded shuffle: pieces arrive in any order, as requests finish.
          for (let i = pieces.length - 1; i > 0; i--) {
            const j = Math.abs(seed + i * 7919) % (i + 1);
            [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
          }
          const buffer = device.createBuffer({
            size: Math.ceil(length / 4) * 4,
            usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
          });
          const writer = new GpuPartWriter(device.queue, buffer, length, "t");
          for (const [a, b] of pieces) writer.write(a, data.slice(a, b));
          writer.finish();
          expect(await readGpuBuffer(device, buffer, length)).toEqual(data);
          buffer.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("finish() names the bytes a plan never wrote", () => {
    const device = engine.context.device;
    const buffer = device.createBuffer({ size: 8, usage: GPUBufferUsage.COPY_DST });
    const writer = new GpuPartWriter(device.queue, buffer, 7, "w.weight");
    writer.write(0, new Uint8Array(5));
    expect(() => writer.finish()).toThrow(
      /E_GAP: bytes 4\.\.7 of the buffer were never written \(w\.weight @ offset 4\)/,
    );
    buffer.destroy();
  });
});
