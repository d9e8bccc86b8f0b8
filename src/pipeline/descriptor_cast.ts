/**
 * Casts on worker threads that read and write the files themselves: a worker reads a band's stored bytes
 * (pread, by descriptor), casts them and writes the result at its place in the output (pwrite), so the band
 * stays on one core from its read to its write and the calling thread only hands out descriptors. Where
 * the band pipeline instead reads on the runtime's I/O threads, casts on the calling thread and writes from
 * there, each band crosses between cores twice and the casts use one core: a 2 GiB float32 checkpoint to
 * bfloat16 safetensors took 0.83-0.85 s that way and 0.48-0.50 s of reads, casts and writes on two such
 * workers (bench/RESULTS.md, 2026-12-06).
 *
 * Deno on Linux only (the workers call the C library through FFI), for casts whose kernel needs no
 * lookup table; `DescriptorCaster.create` says null elsewhere.
 */
import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { StorageError } from "../errors/mod.ts";
import { CastPool, programCasts, type WorkerProgram } from "../engine/pool/mod.ts";
import type { DescriptorIo, StoredRange } from "../storage/mod.ts";
import { libc } from "../tasks/mod.ts";

/** One band for a worker: the stored bytes to read, the cast, and where its output goes. */
interface DescriptorCastJob extends DescriptorIo {
  name: string;
  inSize: number;
  outSize: number;
  count: number;
  /** Elements read, cast and written at a time. */
  step: number;
}

/**
 * Output bytes a worker makes at a time: it holds them twice (source and target dtype) in its core's cache,
 * and writes of 1 MiB stay clear of the slow large-folio writes of 2 MiB and up (bench/RESULTS.md,
 * 2026-12-06 01:10).
 */
const STEP_BYTES = 1 << 20;

type Cast = (name: string, src: Uint8Array, inSize: number, dest: Uint8Array, outSize: number) => void;

/**
 * Self-contained (its source text runs in the pool's workers): opens the C library and returns what runs
 * each job, a step of `job.step` elements at a time (read, cast, write), through two buffers of the
 * worker's own, grown to the largest step and kept.
 */
function descriptorCastWorker(_init: unknown, cast: Cast): (job: DescriptorCastJob) => void {
  type Calls = {
    pread(fd: number, into: Uint8Array, length: number, at: bigint): number | bigint;
    pwrite(fd: number, from: Uint8Array, length: number, at: bigint): number | bigint;
  };
  const ffi = (globalThis as unknown as {
    Deno: { dlopen(path: string, symbols: Record<string, unknown>): { symbols: Calls } };
  }).Deno;
  const io = { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" };
  const c = ffi.dlopen("libc.so.6", { pread: io, pwrite: io }).symbols;
  let input = new Uint8Array(0);
  let output = new Uint8Array(0);
  return (job) => {
    const step = Math.min(job.step, job.count);
    if (input.byteLength < step * job.inSize) input = new Uint8Array(step * job.inSize);
    if (output.byteLength < step * job.outSize) output = new Uint8Array(step * job.outSize);
    let range = 0, inRange = 0; // the next input byte: job.inputs[range], inRange bytes in
    for (let first = 0; first < job.count; first += step) {
      const inBytes = Math.min(step, job.count - first) * job.inSize;
      const outBytes = (inBytes / job.inSize) * job.outSize;
      for (let filled = 0; filled < inBytes;) {
        const r = job.inputs[range];
        const want = Math.min(inBytes - filled, r.length - inRange);
        const n = Number(c.pread(r.fd, input.subarray(filled, filled + want), want, BigInt(r.offset + inRange)));
        if (!(n > 0)) throw new Error(`${n < 0 ? "read failed" : "file ended"} at byte ${r.offset + inRange}`);
        filled += n;
        inRange += n;
        if (inRange === r.length) range++, inRange = 0;
      }
      cast(job.name, input.subarray(0, inBytes), job.inSize, output.subarray(0, outBytes), job.outSize);
      const at = job.offset + first * job.outSize;
      for (let done = 0; done < outBytes;) {
        const n = Number(c.pwrite(job.fd, output.subarray(done, outBytes), outBytes - done, BigInt(at + done)));
        if (!(n > 0)) throw new Error(`write failed at byte ${at + done}`);
        done += n;
      }
    }
  };
}

const PROGRAM = "descriptor-cast";

/** Runs descriptor casts on a pool of its own (one worker per hardware thread); `close()` when done. */
export class DescriptorCaster {
  readonly #pool: CastPool;

  private constructor(pool: CastPool) {
    this.#pool = pool;
  }

  /** A caster, or null where workers cannot call the C library (not Deno on Linux with FFI, no SIMD casts). */
  static create(): DescriptorCaster | null {
    if (libc() === null || !programCasts("float32", "bfloat16")) return null;
    const program: WorkerProgram = { name: PROGRAM, source: descriptorCastWorker.toString(), init: null };
    return new DescriptorCaster(new CastPool(undefined, [program]));
  }

  /** Whether it casts `from` -> `to`. */
  casts(from: DType, to: DType): boolean {
    return from !== to && programCasts(from, to);
  }

  /**
   * Reads `io.inputs` (the stored bytes of `count` elements of `from`), casts them to `to` and writes them at
   * `io.offset` of `io.fd`, on a worker. A failure names the first file read (`from`'s sources).
   */
  async cast(io: DescriptorIo, from: DType, to: DType, count: number, stored: readonly StoredRange[]): Promise<void> {
    const job: DescriptorCastJob = {
      ...io,
      name: `${from}_${to}`,
      step: Math.max(1, Math.floor(STEP_BYTES / itemsize(to))),
      inSize: itemsize(from),
      outSize: itemsize(to),
      count,
    };
    try {
      await this.#pool.runProgram(PROGRAM, job);
    } catch (e) {
      throw new StorageError("E_IO", `cast by descriptor failed: ${(e as Error).message}`, {
        path: stored[0]?.source.path,
        offset: stored[0]?.offset,
      });
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
