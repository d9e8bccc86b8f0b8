import { describe, expect, test } from "vitest";
import { BandPipeline } from "../../src/pipeline/band_pipeline.ts";
import type { BandJob } from "../../src/pipeline/band_pipeline.ts";
import { rowBands } from "../../src/pipeline/bands.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import type { TensorEntry, TensorSource } from "../../src/source/mod.ts";
import type { TargetTensor } from "../../src/pipeline/targets.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import type { DType } from "../../src/dtype/mod.ts";
import { convertCpu, createCpuEngine } from "../../src/engine/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import type { Box } from "../../src/tensor/mod.ts";
import { makeTensor, wholeBox } from "../../src/tensor/mod.ts";

const engine = createCpuEngine();

/** float32 values that need rounding in bfloat16 (distinct per element and per tensor). */
function f32Tensor(shape: number[], seed: number) {
  const t = makeTensor("float32", shape);
  const view = new Float32Array(t.data.buffer);
  for (let i = 0; i < view.length; i++) view[i] = (seed + i) * 1.0001 + 0.33333;
  return t;
}

/** A real 2-rank DCP checkpoint in memory holding `a` [6, 4] and `b` [5, 4] float32. */
async function twoTensorCheckpoint(): Promise<{ storage: MemoryStorage; a: Uint8Array; b: Uint8Array }> {
  const storage = new MemoryStorage();
  const a = f32Tensor([6, 4], 1);
  const b = f32Tensor([5, 4], 100);
  await saveStateDict(storage, "ckpt", new Map([["a", a], ["b", b]]), { ranks: 2 });
  return { storage, a: a.data, b: b.data };
}

function target(source: TensorSource, name: string, dtype: DType): TargetTensor {
  const entry = source.entries.find((e): e is TensorEntry => e.kind === "tensor" && e.name === name)!;
  return { name, source: entry, dtype, shape: entry.shape, bytes: 0 };
}

/** Bands of 2 rows (32 source bytes) over every target, in the given order. */
function jobsOf(targets: TargetTensor[]): BandJob[] {
  return targets.flatMap((t) => rowBands(wholeBox(t.shape), 4, 32).map((box: Box) => ({ target: t, box })));
}

/** The expected bytes of rows [r0, r0 + rows) of a [*, 4] float32 tensor cast to bfloat16. */
function bf16Rows(f32: Uint8Array, r0: number, rows: number): Uint8Array {
  return convertCpu(f32.subarray(r0 * 16, (r0 + rows) * 16), "float32", "bfloat16");
}

describe("BandPipeline", () => {
  test("produce() returns every band cast to the target dtype, in the planned order", async () => {
    const { storage, a, b } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "bfloat16"), target(source, "b", "bfloat16")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    for (const job of jobs) {
      const want = bf16Rows(job.target.name === "a" ? a : b, job.box.offsets[0], job.box.sizes[0]);
      expect(await pipeline.produce(job)).toEqual(want);
    }
    await source.close();
  });

  test("produce() reuses its buffers: a band's bytes live in the memory of the band three reads earlier", async () => {
    const { storage } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "float32"), target(source, "b", "float32")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    // Where each band's bytes lie: its memory and offset (an engine's arena holds every band in one memory).
    const places: string[] = [];
    const memories: ArrayBufferLike[] = [];
    for (const job of jobs.slice(0, 4)) {
      const bytes = await pipeline.produce(job) as Uint8Array;
      if (!memories.includes(bytes.buffer)) memories.push(bytes.buffer);
      places.push(`${memories.indexOf(bytes.buffer)}:${bytes.byteOffset}`);
    }
    expect(new Set(places.slice(0, 3)).size).toBe(3);
    expect(places[3]).toBe(places[0]);
    await source.close();
  });

  test("reads and casts the next two bands while the caller still holds one", async () => {
    const { storage } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const casts: number[] = [];
    const recording = {
      ...engine,
      convert: (...a: Parameters<typeof engine.convert>) => (casts.push(a[0].byteLength), engine.convert(...a)),
    };
    const jobs = jobsOf([target(source, "a", "bfloat16")]);
    const pipeline = new BandPipeline(source, recording, jobs, { readAheadBytes: 1 << 20 });
    await pipeline.produce(jobs[0]);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the caller "writing" band 0
    expect(casts).toEqual([32, 32, 32]); // bands 0, 1 and 2, each 2 rows of 4 float32
    await pipeline.produce(jobs[1]);
    await pipeline.settle();
    expect(casts).toHaveLength(3); // band 3 is past the end of 'a' (6 rows, 3 bands)
    await source.close();
  });

  test("a job the caller skips frees its slot once its read lands, and later jobs are still prepared ahead", async () => {
    const { storage, a, b } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "float32"), target(source, "b", "float32")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    await pipeline.produce(jobs[0]);
    for (const i of [2, 3, 4, 5]) {
      const want = jobs[i].target.name === "a" ? a : b;
      const r0 = jobs[i].box.offsets[0];
      expect(await pipeline.produce(jobs[i])).toEqual(want.subarray(r0 * 16, (r0 + jobs[i].box.sizes[0]) * 16));
    }
    await source.close();
  });

  test("jobs too big to read ahead all go through one buffer, so only one grows to the largest job", async () => {
    const { storage, a, b } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const jobs = [target(source, "a", "float32"), target(source, "b", "float32")]
      .map((t) => ({ target: t, box: wholeBox(t.shape) }));
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 0 });
    const first = await pipeline.produce(jobs[0]);
    expect(first).toEqual(a);
    const second = await pipeline.produce(jobs[1]);
    expect(second).toEqual(b);
    expect(second.buffer).toBe(first.buffer);
    await source.close();
  });

  test("produce() of jobs out of the planned order still gives each job's own bytes", async () => {
    const { storage, a, b } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "bfloat16"), target(source, "b", "bfloat16")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    for (const job of [...jobs].reverse()) {
      const want = bf16Rows(job.target.name === "a" ? a : b, job.box.offsets[0], job.box.sizes[0]);
      expect(await pipeline.produce(job)).toEqual(want);
    }
    await source.close();
  });

  test("a row permutation gathers the source rows it names, cast on the way", async () => {
    const { storage, a } = await twoTensorCheckpoint();
    const source = await openTensorSource(storage, "ckpt");
    const permuted = { ...target(source, "a", "bfloat16"), rowPermutation: Int32Array.of(5, 4, 3, 2, 1, 0) };
    const jobs = jobsOf([permuted]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    expect(await pipeline.produce(jobs[0])).toEqual(new Uint8Array([...bf16Rows(a, 5, 1), ...bf16Rows(a, 4, 1)]));
    await source.close();
  });
});

describe("BandPipeline (adversarial)", () => {
  /** Breaks the zip end record of the stored item of `b`'s first chunk, so reading it fails. */
  async function breakItemOfB(storage: MemoryStorage): Promise<void> {
    const source = await openTensorSource(storage, "ckpt");
    const entry = source.entries.find((e): e is TensorEntry => e.kind === "tensor" && e.name === "b")!;
    const chunk = entry.chunks.find((c) => c.offsets[0] === 0)!;
    await source.close();
    const bytes = await storage.readAll(chunk.file);
    bytes.fill(0xff, chunk.offset + chunk.length - 22, chunk.offset + chunk.length);
    await storage.writeAll(chunk.file, bytes);
  }

  test("a failed read-ahead surfaces, typed, from the produce() that takes its job", async () => {
    const { storage } = await twoTensorCheckpoint();
    await breakItemOfB(storage);
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "bfloat16"), target(source, "b", "bfloat16")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    const firstOfB = jobs.findIndex((j) => j.target.name === "b");
    for (let i = 0; i < firstOfB; i++) await pipeline.produce(jobs[i]);
    const error = await pipeline.produce(jobs[firstOfB]).catch((e) => e);
    expect(error).toBeInstanceOf(WebdcpError);
    expect((error as WebdcpError).path).toBe("ckpt/__0_0.distcp");
    await source.close();
  });

  test("settle() waits for a read-ahead nobody takes and does not throw its failure", async () => {
    const { storage } = await twoTensorCheckpoint();
    await breakItemOfB(storage);
    const source = await openTensorSource(storage, "ckpt");
    const jobs = jobsOf([target(source, "a", "bfloat16"), target(source, "b", "bfloat16")]);
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    const lastOfA = jobs.findLastIndex((j) => j.target.name === "a");
    await pipeline.produce(jobs[lastOfA]);
    await expect(pipeline.settle()).resolves.toBeUndefined();
    await source.close();
  });
});
