import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { itemsize } from "../../src/dtype/mod.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS } from "../../src/dtype/mod.ts";
import { convertCpu, createCpuEngine } from "../../src/engine/mod.ts";
import { lookupTable } from "../../src/engine/cpu/convert.ts";
import { CastPool, POOL_MIN_BYTES } from "../../src/engine/pool/cast_pool.ts";
import { BandPipeline } from "../../src/pipeline/band_pipeline.ts";
import { rowBands } from "../../src/pipeline/bands.ts";
import { openTensorSource, type TensorEntry } from "../../src/source/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { makeTensor, wholeBox } from "../../src/tensor/mod.ts";
import { WorkerError } from "../../src/errors/mod.ts";
import { randomWords } from "./random.ts";

const PAIRS = CONVERT_SOURCES.flatMap((from) => CONVERT_TARGETS.filter((to) => to !== from).map((to) => [from, to]));

function shared(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

/** Byte equality without a generic deep compare (slow on hundreds of thousands of elements). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/** 600k random elements of `dtype` (random bit patterns: NaNs, denormals and all), in shared memory. */
function sharedInput(dtype: string, elements = 600_001): Uint8Array {
  const size = itemsize(dtype as "float32");
  const words = randomWords(Math.ceil((elements * size) / 4), 0xD00D + size);
  return shared(new Uint8Array(words.buffer, 0, elements * size));
}

describe("CastPool", () => {
  const pool = new CastPool(3);
  afterAll(() => pool.close());

  test("convert() gives convertCpu()'s bits for every cast, split across the workers", async () => {
    for (const [from, to] of PAIRS) {
      const src = sharedInput(from);
      const out = new Uint8Array(new SharedArrayBuffer((src.byteLength / itemsize(from)) * itemsize(to)));
      await pool.convert(src, from, to, out);
      expect(sameBytes(out, convertCpu(src, from, to)), `${from} -> ${to}`).toBe(true);
    }
  });

  test("casts run at once on one pool keep their own lookup tables", async () => {
    const casts = [["bfloat16", "float8_e4m3fn"], ["float16", "float8_e5m2"], ["bfloat16", "float8_e5m2"]] as const;
    const inputs = casts.map(([from]) => sharedInput(from, 300_000));
    const outs = casts.map(([from, to], k) =>
      new Uint8Array(new SharedArrayBuffer((inputs[k].byteLength / itemsize(from)) * itemsize(to)))
    );
    await Promise.all([0, 1, 2, 0, 1, 2].map((k) => pool.convert(inputs[k], casts[k][0], casts[k][1], outs[k])));
    casts.forEach(([from, to], k) => expect(sameBytes(outs[k], convertCpu(inputs[k], from, to))).toBe(true));
  });

  test("a worker that claims no chunk of a cast still loads the lookup table sent with it", async () => {
    const single = new CastPool(1);
    try {
      const table = { results: lookupTable("bfloat16", "float8_e5m2") };
      const src = sharedInput("bfloat16", 4096);
      const dest = new Uint8Array(new SharedArrayBuffer(4096));
      // Every chunk is already claimed (by the caller, say): the worker casts nothing.
      const counters = new Int32Array(new SharedArrayBuffer(8)).fill(1);
      const claim = { counters, chunk: 4096, chunks: 1 };
      await single.run({ name: "bfloat16_float8_e5m2", table, src, inSize: 2, dest, outSize: 1, claim });
      // The pool now sends this kernel's jobs without the entries.
      await single.run({ name: "bfloat16_float8_e5m2", table, src, inSize: 2, dest, outSize: 1 });
      expect(sameBytes(dest, convertCpu(src, "bfloat16", "float8_e5m2"))).toBe(true);
    } finally {
      await single.close();
    }
  });

  test("a job that fails in a worker rejects with WorkerError E_WORKER, and the pool goes on", async () => {
    const src = sharedInput("float32", 1000);
    const dest = new Uint8Array(new SharedArrayBuffer(2000));
    const failed = pool.run({ name: "float32_no_such_dtype", src, inSize: 4, dest, outSize: 2 });
    await expect(failed).rejects.toBeInstanceOf(WorkerError);
    await expect(failed).rejects.toMatchObject({
      code: "E_WORKER",
      message: expect.stringContaining("no cast kernel"),
    });
    await pool.convert(src, "float32", "bfloat16", dest);
    expect(sameBytes(dest, convertCpu(src, "float32", "bfloat16"))).toBe(true);
  });

  test("runProgram() runs a program given to the pool on a worker, with its init and the pool's casts", async () => {
    const program = {
      name: "scaled-cast",
      // Multiplies by the init's factor, then casts with the worker's kernel into the job's destination.
      source: `(init, cast) => (job) => {
        const f32 = new Float32Array(job.src.byteLength / 4);
        f32.set(new Float32Array(job.src.buffer, job.src.byteOffset, f32.length).map((v) => v * init.factor));
        cast("float32_bfloat16", new Uint8Array(f32.buffer), 4, job.dest, 2);
      }`,
      init: { factor: 3 },
    };
    const withProgram = new CastPool(2, [program]);
    try {
      const src = sharedInput("float32", 10_001);
      const dest = new Uint8Array(new SharedArrayBuffer(20_002));
      await withProgram.runProgram("scaled-cast", { src, dest });
      const tripled = new Float32Array(src.slice().buffer).map((v) => v * 3);
      expect(sameBytes(dest, convertCpu(new Uint8Array(tripled.buffer), "float32", "bfloat16"))).toBe(true);
      await expect(withProgram.runProgram("no-such-program", {})).rejects.toMatchObject({ code: "E_USAGE" });
      await expect(withProgram.runProgram("scaled-cast", { src })).rejects.toMatchObject({ code: "E_WORKER" });
    } finally {
      await withProgram.close();
    }
  });

  test("runProgram() resolves to a job's result; a program whose setup fails in the worker fails each job with E_WORKER saying why, and the worker's other programs go on", async () => {
    const programs = [
      { name: "broken", source: `() => { throw new Error("no libc here"); }`, init: null },
      { name: "plus", source: `(init) => (job) => job + init.add`, init: { add: 1 } },
    ];
    const withPrograms = new CastPool(1, programs);
    try {
      await expect(withPrograms.runProgram("broken", {})).rejects.toMatchObject({
        code: "E_WORKER",
        message: expect.stringContaining("setting up broken failed: no libc here"),
      });
      expect(await withPrograms.runProgram("plus", 41)).toBe(42);
    } finally {
      await withPrograms.close();
    }
  });

  test("refuses buffers that are not shared (they would have to be copied)", async () => {
    const src = new Uint8Array(4096);
    await expect(pool.convert(src, "float32", "bfloat16", new Uint8Array(2048))).rejects.toMatchObject({
      code: "E_USAGE",
    });
  });

  test("after close(), jobs reject with E_WORKER", async () => {
    const closed = new CastPool(1);
    const src = sharedInput("float32", 1000);
    await closed.convert(src, "float32", "float16", new Uint8Array(new SharedArrayBuffer(2000)));
    await closed.close();
    await expect(closed.convert(src, "float32", "float16", new Uint8Array(new SharedArrayBuffer(2000)))).rejects
      .toMatchObject({ code: "E_WORKER" });
  });
});

describe("createCpuEngine()", () => {
  test("casts shared buffers on its workers and plain ones on the calling thread, with the same bits", async () => {
    const engine = createCpuEngine({ workers: 2 });
    try {
      expect(engine.buffer!(1024)!.buffer).toBeInstanceOf(SharedArrayBuffer);
      const src = sharedInput("float32", POOL_MIN_BYTES);
      const out = new Uint8Array(new SharedArrayBuffer(src.byteLength / 2));
      expect(await engine.convert(src, "float32", "float16", out)).toBe(out);
      const plain = await engine.convert(src.slice(), "float32", "float16", new Uint8Array(src.byteLength / 2));
      expect(sameBytes(out, plain)).toBe(true);
    } finally {
      engine.dispose();
    }
  });

  test("workers: 0 keeps every cast on the calling thread, its buffers unshared", () => {
    expect(createCpuEngine({ workers: 0 }).buffer!(1024)!.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });
});

test("a band pipeline on a pooled engine casts in shared buffers, with the bits of one on the calling thread", async () => {
  const storage = new MemoryStorage();
  const t = makeTensor("float32", [512, 1024]);
  new Uint8Array(t.data.buffer).set(new Uint8Array(randomWords(512 * 1024, 99).buffer));
  await saveStateDict(storage, "ckpt", new Map([["w", t]]), { ranks: 2 });
  const source = await openTensorSource(storage, "ckpt");
  const entry = source.entries.find((e): e is TensorEntry => e.kind === "tensor" && e.name === "w")!;
  const target = { name: "w", source: entry, dtype: "float16" as const, shape: entry.shape, bytes: 0 };
  const jobs = rowBands(wholeBox(entry.shape), 4, 512 * 1024).map((box) => ({ target, box }));
  const produced: Uint8Array[][] = [];
  for (const workers of [2, 0]) {
    const engine = createCpuEngine({ workers });
    const pipeline = new BandPipeline(source, engine, jobs, { readAheadBytes: 1 << 20 });
    const bands: Uint8Array[] = [];
    for (const job of jobs) {
      const out = await pipeline.produce(job) as Uint8Array;
      expect(out.buffer instanceof SharedArrayBuffer).toBe(workers > 0);
      bands.push(out.slice());
    }
    await pipeline.release();
    engine.dispose();
    produced.push(bands);
  }
  expect(jobs.length).toBeGreaterThan(3);
  produced[0].forEach((band, k) => expect(sameBytes(band, produced[1][k])).toBe(true));
  await source.close();
});

describe("a Deno process that used the pool exits", () => {
  const dir = mkdtempSync(join(tmpdir(), "webdcp-pool-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const engineModule = new URL("../../src/engine/mod.ts", import.meta.url).href;

  for (const dispose of [true, false]) {
    test(dispose ? "at once after dispose()" : "without dispose(), once its idle workers stop", () => {
      const script = join(dir, `exit_${dispose}.ts`);
      writeFileSync(
        script,
        `import { createCpuEngine } from ${JSON.stringify(engineModule)};
const engine = createCpuEngine({ workers: 2 });
const src = new Uint8Array(new SharedArrayBuffer(1 << 21)).fill(0x3F);
const out = new Uint8Array(new SharedArrayBuffer(1 << 20));
await engine.convert(src, "float32", "float16", out);
console.log(out[0].toString(16), out[1].toString(16));
${dispose ? "engine.dispose();" : ""}
`,
      );
      // A hang is a failure (the timeout), not a slow pass: the figure bounds no performance.
      const stdout = execFileSync("npx", ["deno", "run", "-A", "--quiet", script], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(stdout.trim()).toBe("fa 39");
    });
  }
});
