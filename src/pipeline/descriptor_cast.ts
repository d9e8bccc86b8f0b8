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
}

type Cast = (name: string, src: Uint8Array, inSize: number, dest: Uint8Array, outSize: number) => void;

/**
 * Self-contained (its source text runs in the pool's workers): opens the C library and returns what runs
 * each job, with two buffers of the worker's own, grown to the largest band and kept.
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
    const inBytes = job.count * job.inSize, outBytes = job.count * job.outSize;
    if (input.byteLength < inBytes) input = new Uint8Array(inBytes);
    if (output.byteLength < outBytes) output = new Uint8Array(outBytes);
    let at = 0;
    for (const r of job.inputs) {
      for (let done = 0; done < r.length;) {
        const n = Number(c.pread(r.fd, input.subarray(at + done), r.length - done, BigInt(r.offset + done)));
        if (!(n > 0)) throw new Error(`${n < 0 ? "read failed" : "file ended"} at byte ${r.offset + done}`);
        done += n;
      }
      at += r.length;
    }
    cast(job.name, input.subarray(0, inBytes), job.inSize, output.subarray(0, outBytes), job.outSize);
    for (let done = 0; done < outBytes;) {
      const n = Number(c.pwrite(job.fd, output.subarray(done), outBytes - done, BigInt(job.offset + done)));
      if (!(n > 0)) throw new Error(`write failed at byte ${job.offset + done}`);
      done += n;
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
