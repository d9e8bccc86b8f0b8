import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { GpuError, UsageError, WebdcpError } from "../errors/mod.ts";
import { convertCpu } from "./cpu/convert.ts";
import { copyRegionCpu, type RegionCopy } from "./cpu/region_copy.ts";
import { gatherRowsCpu, type RowGather } from "./cpu/row_gather.ts";
import { acquireGpu, type AcquireOptions, type GpuContext, wrapDevice } from "./gpu/device.ts";
import { GpuKernelsRunner } from "./gpu/gpu_engine.ts";
import { CastPool, castPoolSupported, isShared, POOL_MIN_BYTES, serverRuntime } from "./pool/cast_pool.ts";
import { CastArena } from "./cpu/cast_arena.ts";
import { lightCast } from "./cpu/cast_simd.ts";

/** Which engine: the GPU when there is one (`auto`), the GPU or fail (`gpu`), or the CPU twin (`cpu`). */
export type EngineKind = "auto" | "gpu" | "cpu";

/**
 * Dtype conversion, region copy and row gather, on the GPU or the CPU with identical bits. `convert`,
 * `reshard` and the loaders take one of these and never care which it is.
 */
export interface Engine {
  /** Where the work runs now ("cpu" after an auto engine lost its device). */
  readonly kind: "gpu" | "cpu";
  /** The WebGPU adapter's name, for GPU engines. */
  readonly adapterName?: string;
  /**
   * Converts `src`; into `out` when given (exactly the result's byte size, else E_USAGE), so a pipeline can
   * reuse its buffers instead of paying for fresh memory on every call.
   */
  convert(src: Uint8Array, from: DType, to: DType, out?: Uint8Array): Promise<Uint8Array>;
  /**
   * A buffer of `bytes` for `convert` to read or write that this engine casts fastest, or undefined where
   * any memory does as well (GPU engines, a lazy engine not yet decided). The CPU engine's come from its
   * cast arena, where its kernels (and worker threads) cast them without copying; when the arena is full
   * they are plain shared memory, which its workers still take. Give each back with `releaseBuffer`.
   */
  buffer?(bytes: number): Uint8Array | undefined;
  /** Takes back a buffer from `buffer` for reuse (other views are ignored). */
  releaseBuffer?(buffer: Uint8Array): void;
  /** Writes `job.region` of `job.src` into `job.dst`, converting dtypes; the rest of `dst` is kept. */
  copyRegion(job: RegionCopy): Promise<void>;
  /** Gathers (and casts) rows of a row-major buffer in the given order. */
  gatherRows(job: RowGather): Promise<Uint8Array>;
  /** GPU engines only: converts and leaves the result in a new GPU buffer (for loaders). */
  convertToGpuBuffer?(src: Uint8Array, from: DType, to: DType): Promise<GPUBuffer>;
  /** Releases the device and its buffers. */
  dispose(): void;
}

/** Options of `createEngine`. */
export interface EngineOptions {
  /** Which engine (default `auto`). */
  kind?: EngineKind;
  /** A device to share (a loader's); otherwise one is acquired. */
  device?: GPUDevice;
  /** Bytes per staging buffer (capped by the device's limits). */
  stagingBytes?: number;
  /** How to find a WebGPU adapter. */
  acquire?: AcquireOptions;
  /** CPU casts: worker threads for casts of shared buffers (default: one per hardware thread, at most 8; 0: none). */
  workers?: number;
}

/** An `EngineKind` from its name (E_USAGE naming the option `engine` otherwise). */
export function parseEngineKind(value: string): EngineKind {
  if (value === "auto" || value === "gpu" || value === "cpu") return value;
  throw new UsageError("E_USAGE", `engine must be auto, gpu or cpu, not '${value}'`, { option: "engine" });
}

/**
 * The CPU twin: the reference every shader is tested against, and the fallback. Casts of at least
 * POOL_MIN_BYTES from and into views of SharedArrayBuffers run on a pool of `workers` threads (started on
 * first use, stopped by `dispose`), casts between buffers of its arena (`buffer`) run where they lie, and
 * everything else runs on the calling thread through the kernels' scratch area. Under Deno and Node the
 * arena is the pool's shared one, or a private one with `workers: 0` (address space that costs nothing until
 * used there); browsers, whose tabs may refuse a large memory, cast through scratch.
 */
export function createCpuEngine(options: { workers?: number } = {}): Engine {
  const pooled = options.workers !== 0 && castPoolSupported();
  let pool: CastPool | undefined;
  let own: CastArena | null | undefined;
  const getPool = () => (pool ??= new CastPool(options.workers));
  const arena = () => pooled ? getPool().arena : (own ??= serverRuntime() ? CastArena.create(false) ?? null : null);
  return {
    kind: "cpu",
    buffer: (bytes) => arena()?.allocate(bytes) ?? (pooled ? new Uint8Array(new SharedArrayBuffer(bytes)) : undefined),
    releaseBuffer: (buffer) => arena()?.release(buffer),
    convert: (src, from, to, out) => {
      if (
        pooled && out !== undefined && src.byteLength >= POOL_MIN_BYTES && isShared(src) && isShared(out) &&
        !castStaysHere(from, to)
      ) {
        return getPool().convert(src, from, to, out).then(() => out);
      }
      try {
        return Promise.resolve(convertCpu(src, from, to, out, pooled ? pool?.arena : own ?? undefined));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    copyRegion: (job) => Promise.resolve(copyRegionCpu(job)),
    gatherRows: (job) => Promise.resolve(gatherRowsCpu(job)),
    dispose: () => {
      void pool?.close();
      pool = undefined;
    },
  };
}

/**
 * Casts the CPU engine keeps on the calling thread even for buffers its pool could take: the light ones
 * (lightCast), which keep up with the reads and writes around them there, where a worker's round trip and
 * its share of two cores cost more than they save: 2 GiB conversions ran 8-15% faster so (float32 ->
 * bfloat16 0.83-0.93 s against 0.91-1.01 s on the pool, bfloat16 -> float32 0.93-0.98 s against 1.09-1.17
 * s; bench/RESULTS.md, 2026-12-06). The other casts still gain from the pool (float32 -> float16 1.15-1.21 s
 * against 1.65-1.72 s on one thread).
 */
function castStaysHere(from: DType, to: DType): boolean {
  return lightCast(`${from}_${to}`);
}

/** GPU-resident results cannot come from the CPU: once the device is gone these calls fail. */
function gpuGone(): Promise<never> {
  return Promise.reject(new GpuError("E_GPU_LOST", "the GPU device is gone; GPU-resident results are unavailable"));
}

/** Failures after which the CPU can redo the whole call: inputs are untouched, outputs fully rewritten. */
function cpuCanTakeOver(error: unknown): boolean {
  return error instanceof WebdcpError && (error.code === "E_GPU_LOST" || error.code === "E_GPU_OOM");
}

/** The WebGPU engine: kernels planned to the device's limits, staging buffers reused. */
export class GpuEngine implements Engine {
  #runner: GpuKernelsRunner;
  #cpu = createCpuEngine();
  #onCpu = false;
  /** Calls run one at a time: error scopes are per device and the staging pool is shared. */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * `fallback`: let the CPU redo calls after device loss or OOM. `ownsDevice`: the device was acquired for
   * this engine, so `dispose()` destroys it (a caller's device is left alone).
   */
  constructor(
    readonly context: GpuContext,
    private readonly fallback: boolean,
    stagingBytes?: number,
    private readonly ownsDevice = false,
  ) {
    this.#runner = new GpuKernelsRunner(context, stagingBytes);
  }

  get kind(): "gpu" | "cpu" {
    return this.#onCpu ? "cpu" : "gpu";
  }

  get adapterName(): string {
    return this.context.adapterName;
  }

  #run<T>(gpu: () => Promise<T>, cpu: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => {
      if (this.#onCpu) return cpu();
      try {
        return await gpu();
      } catch (error) {
        if (!this.fallback || !cpuCanTakeOver(error)) throw error;
        if ((error as WebdcpError).code === "E_GPU_LOST") this.#onCpu = true;
        return cpu();
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  convert(src: Uint8Array, from: DType, to: DType, out?: Uint8Array): Promise<Uint8Array> {
    return this.#run(() => this.#runner.convert(src, from, to, out), () => this.#cpu.convert(src, from, to, out));
  }

  /** Copies (and casts) an N-d region of one buffer into a region of another. */
  copyRegion(job: RegionCopy): Promise<void> {
    return this.#run(() => this.#runner.copyRegion(job), () => this.#cpu.copyRegion(job));
  }

  gatherRows(job: RowGather): Promise<Uint8Array> {
    return this.#run(() => this.#runner.gatherRows(job), () => this.#cpu.gatherRows(job));
  }

  convertToGpuBuffer(src: Uint8Array, from: DType, to: DType): Promise<GPUBuffer> {
    if (src.byteLength % itemsize(from) !== 0) {
      return Promise.reject(new UsageError("E_USAGE", `${src.byteLength} bytes is not a whole number of ${from}`));
    }
    return this.#run(async () => {
      const size = Math.max(4, Math.ceil(src.byteLength / 4) * 4);
      const staged = this.context.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      try {
        const padded = src.byteLength === size ? src : new Uint8Array(size);
        if (padded !== src) padded.set(src);
        this.context.device.queue.writeBuffer(staged, 0, padded);
        return await this.#runner.convertBuffer(
          { buffer: staged, byteOffset: 0 },
          src.byteLength / itemsize(from),
          from,
          to,
        );
      } finally {
        staged.destroy();
      }
    }, gpuGone);
  }

  /** Converts elements already on the GPU (any element-aligned offset) into a new GPU buffer. */
  convertGpuBuffer(
    src: { buffer: GPUBuffer; byteOffset: number },
    count: number,
    from: DType,
    to: DType,
  ): Promise<GPUBuffer> {
    return this.#run(
      () => this.#runner.convertBuffer(src, count, from, to),
      gpuGone,
    );
  }

  dispose(): void {
    this.#cpu.dispose();
    this.#runner.dispose();
    // Releasing the device here, not at process exit, also keeps Mesa's software drivers from tearing
    // down a live device during exit (seen corrupting the heap under Deno's GL backend).
    if (this.ownsDevice) this.context.device.destroy();
  }
}

/**
 * Creates an engine. "gpu" needs an adapter (else GpuError E_GPU_UNAVAILABLE), takes any adapter, software
 * ones included, and reports every GPU failure. "auto" uses the GPU only when it is real hardware: with no
 * adapter, or only a software one (flagged fallback, typed CPU, or named llvmpipe, lavapipe, SwiftShader,
 * WARP...), it gives the CPU twin, which beats shaders emulated on the same cores; on a real GPU it lets the
 * CPU redo a call the GPU could not finish (device lost, out of memory). A caller's `device` is used as
 * given. "cpu" is the twin.
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const kind = options.kind ?? "auto";
  if (kind === "cpu") return createCpuEngine(options);
  let context: GpuContext;
  try {
    context = options.device
      ? wrapDevice(options.device)
      : await acquireGpu({ ...options.acquire, hardwareOnly: kind === "auto" || options.acquire?.hardwareOnly });
  } catch (error) {
    if (kind === "auto" && error instanceof WebdcpError && error.code === "E_GPU_UNAVAILABLE") {
      return createCpuEngine(options);
    }
    throw error;
  }
  return new GpuEngine(context, kind === "auto", options.stagingBytes, options.device === undefined);
}

/**
 * An engine that is created on first use. Jobs that never cast (a plain reshard, a same-dtype convert) then
 * never load a GPU driver: merely loading a software Vulkan/GL driver was measured to slow a 2 GiB reshard
 * about 2x on a 2-core machine, even though no GPU work ran. `kind` reads "cpu" until the first call decides.
 */
export function createLazyEngine(options: EngineOptions = {}): Engine {
  let pending: Promise<Engine> | undefined;
  let engine: Engine | undefined;
  const get = () => (pending ??= createEngine(options).then((e) => (engine = e)));
  return {
    get kind() {
      return engine?.kind ?? "cpu";
    },
    get adapterName() {
      return engine?.adapterName;
    },
    buffer: (bytes) => engine?.buffer?.(bytes),
    releaseBuffer: (buffer) => engine?.releaseBuffer?.(buffer),
    convert: async (src, from, to, out) => (await get()).convert(src, from, to, out),
    copyRegion: async (job) => (await get()).copyRegion(job),
    gatherRows: async (job) => (await get()).gatherRows(job),
    dispose: () => engine?.dispose(),
  };
}
