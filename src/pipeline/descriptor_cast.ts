/**
 * Casts on worker threads that read and write the files themselves: a worker reads a band's stored bytes
 * (pread, by descriptor), casts them and writes the result at its place in the output (pwrite), so the band
 * stays on one core from its read to its write and the calling thread only hands out descriptors. Where
 * the band pipeline instead reads on the runtime's I/O threads, casts on the calling thread and writes from
 * there, each band crosses between cores twice and the casts use one core: a 2 GiB float32 checkpoint to
 * bfloat16 safetensors took 1.01 s that way against a floor (`cat` of the sources, `dd` of the output) of
 * 0.59 s, and 0.57 s against 0.49 s with two such workers (bench/RESULTS.md, 2026-12-06 06:35 and 08:22).
 *
 * Deno on Linux only (the workers call the C library through FFI), for casts whose kernel needs no
 * lookup table; `DescriptorCaster.create` says null elsewhere.
 */
import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { StorageError } from "../errors/mod.ts";
import {
  type CastKitFunctions,
  CastPool,
  castReadsInPlace,
  type PrivateCastKit,
  privateCastKit,
  programCasts,
  type WorkerProgram,
} from "../engine/pool/mod.ts";
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
  /** Whether the kernel reads its input where it lies (engine/pool `castReadsInPlace`). */
  readInPlace: boolean;
}

/** What each worker is given once: the cast kit's, and whether its jobs work out their output's CRC-32. */
interface DescriptorCastInit {
  kit: PrivateCastKit["init"];
  checksums: boolean;
}

/**
 * Output bytes a worker makes at a time: it holds them twice (source and target dtype) in its core's cache,
 * and writes of 1 MiB stay clear of the slow large-folio writes of 2 MiB and up (bench/RESULTS.md,
 * 2026-12-06 01:10).
 */
const STEP_BYTES = 1 << 20;

/**
 * Self-contained (its source text runs in the pool's workers, given the cast kit's functions and
 * `zlibCrc32`): opens the C library (and, for checksums, takes zlib's SIMD CRC-32 from the runtime's
 * `node:zlib`, as zip/crc32.ts does) and returns what runs each
 * job, a step of `job.step` elements at a time: read into a WebAssembly memory of the worker's own, cast
 * there where the bytes lie, checksummed there while still in the core's cache, written from there. The
 * memory is grown (instantiated again) for a larger step. A job returns its output's CRC-32 when the worker
 * keeps checksums.
 */
function descriptorCastWorker(
  { kit: init, checksums }: DescriptorCastInit,
  kit: CastKitFunctions,
  findCrc32: typeof zlibCrc32,
): (job: DescriptorCastJob) => number | undefined {
  type Calls = {
    pread(fd: number, into: Uint8Array, length: number, at: bigint): number | bigint;
    pwrite(fd: number, from: Uint8Array, length: number, at: bigint): number | bigint;
  };
  const ffi = (globalThis as unknown as {
    Deno: { dlopen(path: string, symbols: Record<string, unknown>): { symbols: Calls } };
  }).Deno;
  const io = { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" };
  const c = ffi.dlopen("libc.so.6", { pread: io, pwrite: io }).symbols;
  const crc32 = checksums ? findCrc32() : undefined;
  if (checksums && crc32 === undefined) throw new Error("this worker has no node:zlib crc32");
  let instance: ReturnType<CastKitFunctions["instantiateCast"]> | undefined;
  let room = 0; // bytes after the scratch area
  return (job) => {
    const step = Math.min(job.step, job.count);
    const input = init.scratch, output = init.scratch + step * job.inSize;
    if (instance === undefined || room < step * (job.inSize + job.outSize)) {
      room = step * (job.inSize + job.outSize);
      const memory = new WebAssembly.Memory({ initial: Math.ceil((init.scratch + room) / 65536) });
      instance = kit.instantiateCast(init.module, memory, 0);
    }
    const memory = instance.memory;
    let range = 0, inRange = 0; // the next input byte: job.inputs[range], inRange bytes in
    let crc = 0;
    for (let first = 0; first < job.count; first += step) {
      const count = Math.min(step, job.count - first);
      const inBytes = count * job.inSize, outBytes = count * job.outSize;
      for (let filled = 0; filled < inBytes;) {
        const r = job.inputs[range];
        const want = Math.min(inBytes - filled, r.length - inRange);
        const n = Number(c.pread(r.fd, new Uint8Array(memory, input + filled, want), want, BigInt(r.offset + inRange)));
        if (!(n > 0)) throw new Error(`${n < 0 ? "read failed" : "file ended"} at byte ${r.offset + inRange}`);
        filled += n;
        inRange += n;
        if (inRange === r.length) range++, inRange = 0;
      }
      const at = { src: input, dest: output, count, readInPlace: job.readInPlace };
      kit.runCastAt(instance, init.layout, job.name, undefined, at, job.inSize, job.outSize, kit.runCast);
      if (crc32 !== undefined) crc = crc32(new Uint8Array(memory, output, outBytes), crc);
      const to = job.offset + first * job.outSize;
      for (let done = 0; done < outBytes;) {
        const n = Number(
          c.pwrite(job.fd, new Uint8Array(memory, output + done, outBytes - done), outBytes - done, BigInt(to + done)),
        );
        if (!(n > 0)) throw new Error(`write failed at byte ${to + done}`);
        done += n;
      }
    }
    return crc32 === undefined ? undefined : crc >>> 0;
  };
}

/** Self-contained (it runs in workers too): zlib's CRC-32 from the runtime's `node:zlib`, where it has one. */
function zlibCrc32(): ((data: Uint8Array, value: number) => number) | undefined {
  type Process = { getBuiltinModule?(id: string): { crc32?: (data: Uint8Array, value: number) => number } };
  try {
    return (globalThis as { process?: Process }).process?.getBuiltinModule?.("node:zlib")?.crc32;
  } catch {
    return undefined;
  }
}

const PROGRAM = "descriptor-cast";

/**
 * Runs descriptor casts on a pool of its own (one worker per hardware thread); `close()` when done. With
 * `checksums` (for outputs whose records carry a CRC-32, as zip archives do), each cast also works out the
 * CRC-32 of what it wrote.
 */
export class DescriptorCaster {
  /** Started at the first cast (a checkpoint of small tensors never needs it). */
  #pool: CastPool | undefined;

  private constructor(readonly checksums: boolean) {}

  /**
   * A caster, or null where workers cannot call the C library (not Deno on Linux with FFI, no SIMD casts)
   * or, for `checksums`, the runtime has no zlib CRC-32.
   */
  static create(opts: { checksums?: boolean } = {}): DescriptorCaster | null {
    const checksums = opts.checksums ?? false;
    if (libc() === null || !programCasts("float32", "bfloat16")) return null;
    return checksums && zlibCrc32() === undefined ? null : new DescriptorCaster(checksums);
  }

  #started(): CastPool {
    if (this.#pool === undefined) {
      const kit = privateCastKit();
      const init: DescriptorCastInit = { kit: kit.init, checksums: this.checksums };
      const program: WorkerProgram = {
        name: PROGRAM,
        source: `(init) => (${descriptorCastWorker})(init, ${kit.source}, ${zlibCrc32})`,
        init,
      };
      this.#pool = new CastPool(undefined, [program]);
    }
    return this.#pool;
  }

  /** Whether it casts `from` -> `to`. */
  casts(from: DType, to: DType): boolean {
    return from !== to && programCasts(from, to);
  }

  /**
   * Reads `io.inputs` (the stored bytes of `count` elements of `from`), casts them to `to` and writes them at
   * `io.offset` of `io.fd`, on a worker; resolves to the CRC-32 of the bytes written where the caster keeps
   * `checksums`. A failure names the first file read (`from`'s sources).
   */
  async cast(
    io: DescriptorIo,
    from: DType,
    to: DType,
    count: number,
    stored: readonly StoredRange[],
  ): Promise<number | undefined> {
    const job: DescriptorCastJob = {
      ...io,
      name: `${from}_${to}`,
      step: Math.max(1, Math.floor(STEP_BYTES / itemsize(to))),
      readInPlace: castReadsInPlace(from, to),
      inSize: itemsize(from),
      outSize: itemsize(to),
      count,
    };
    try {
      return await this.#started().runProgram(PROGRAM, job) as number | undefined;
    } catch (e) {
      throw new StorageError("E_IO", `cast by descriptor failed: ${(e as Error).message}`, {
        path: stored[0]?.source.path,
        offset: stored[0]?.offset,
      });
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await this.#pool?.close();
  }
}
