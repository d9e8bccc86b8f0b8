import type { DType } from "../../dtype/mod.ts";
import { itemsize } from "../../dtype/mod.ts";
import { UsageError, WorkerError } from "../../errors/mod.ts";
import {
  CAST_LAYOUT,
  CAST_SCRATCH,
  castHasTable,
  type CastLayout,
  castModuleBytes,
  castSimd,
  instantiateCast,
  lightCast,
  plainSimdKernel,
  runCast,
  runCastAt,
  simdCastsAvailable,
} from "../cpu/cast_simd.ts";
import { CastArena } from "../cpu/cast_arena.ts";
import type { ConvertTarget } from "../../dtype/mod.ts";
import { checkConvertible, lookupTable } from "../cpu/convert.ts";
import { startWorker, type WorkerThread } from "./worker_thread.ts";
import { hostModule, unrefTimer } from "../../tasks/mod.ts";

/** Casts below this many input bytes stay on the calling thread: a round trip to a worker costs more. */
export const POOL_MIN_BYTES = 256 * 1024;
/** Workers idle this long are stopped (and started again on demand), so a pool nobody closed ends. */
const IDLE_MS = 2000;

/**
 * Workers started when no size is given: one per hardware thread, up to this many (each holds a runtime
 * and the module's memory; a band of a few MiB has no work for more).
 */
const MAX_DEFAULT_WORKERS = 8;
/** Elements of a cast are claimed in chunks of about this many input bytes. */
const CLAIM_BYTES = 256 * 1024;

/**
 * One cast for the pool, on views of shared memory (nothing is copied between threads). With `claim`, the
 * cast is shared: whoever takes part (the workers and the calling thread) claims chunk after chunk from
 * `counters[0]` and counts the chunks it finished in `counters[1]`.
 */
export interface CastJob {
  name: string;
  /** A table kernel's table; without `results` when the worker already holds them. */
  table?: { results?: Uint32Array };
  src: Uint8Array;
  inSize: number;
  dest: Uint8Array;
  outSize: number;
  claim?: { counters: Int32Array; chunk: number; chunks: number };
}

/**
 * What a worker gets for a CastJob: views cast through its scratch area, or, when both lie in the pool's
 * arena, their byte addresses there (cast where they lie).
 */
type CastMessage = Omit<CastJob, "src" | "dest"> & {
  io: { src: Uint8Array; dest: Uint8Array } | { src: number; dest: number; count: number; readInPlace: boolean };
};

/**
 * Work besides casts that a pool's workers run, for a layer above the engine (which cannot import it).
 * `source` is the text of a self-contained function `(init, cast) => (job) => result`: each worker calls it
 * once with `init` (sent once per worker: a WebAssembly module's bytes, tables) and `cast(name, src, inSize,
 * dest, outSize)`, which runs the cast kernel `name` (one without a lookup table) on the worker's instance;
 * what it returns runs each job given to `runProgram(name, job)`, which resolves to the job's result (a
 * structured-cloneable value, or undefined).
 */
export interface WorkerProgram {
  name: string;
  source: string;
  init: unknown;
}

/** The worker's code: the same `runCast` and `runCastAt` the calling thread runs, over the pool's arena. */
function workerSource(listen: string, programs: readonly WorkerProgram[]): string {
  const factories = programs.map((p) => `${JSON.stringify(p.name)}: (${p.source})`).join(",\n  ");
  return `"use strict";
const runCast = ${runCast.toString()};
const runCastAt = ${runCastAt.toString()};
const instantiateCast = ${instantiateCast.toString()};
const factories = {
  ${factories}
};
const programs = {};
let instance;
/** What went wrong, as text for the calling thread. */
const reason = (e) => String((e && e.message) || e);
/** Casts elements [a, b) of the message's input. */
function castRange(m, a, b) {
  const j = m.job, io = j.io;
  if (typeof io.src === "number") {
    const at = { src: io.src + a * j.inSize, dest: io.dest + a * j.outSize, count: b - a, readInPlace: io.readInPlace };
    runCastAt(instance, m.layout, j.name, j.table, at, j.inSize, j.outSize, runCast);
  } else {
    const src = io.src.subarray(a * j.inSize, b * j.inSize), dest = io.dest.subarray(a * j.outSize, b * j.outSize);
    runCast(instance, m.layout, j.name, j.table, src, j.inSize, dest, j.outSize);
  }
}
function handle(m, reply) {
  if (m.type === "init") {
    instance = instantiateCast(m.module, m.memory, m.scratch);
    const cast = (name, src, inSize, dest, outSize) =>
      runCast(instance, m.layout, name, undefined, src, inSize, dest, outSize);
    for (const [name, init] of m.programs) {
      try {
        programs[name] = factories[name](init, cast);
      } catch (e) {
        // Each job of the program then fails with why (the worker and its other programs go on).
        const why = "setting up " + name + " failed: " + reason(e);
        programs[name] = () => { throw new Error(why); };
      }
    }
    return;
  }
  try {
    if (m.program !== undefined) {
      reply({ id: m.id, result: programs[m.program](m.job) });
      return;
    }
    const j = m.job;
    // A table that comes with the job is loaded at once, whether or not this worker claims a chunk of it:
    // the pool counts on this worker holding it from now on.
    if (j.table !== undefined && j.table.results !== undefined) castRange(m, 0, 0);
    const n = typeof j.io.src === "number" ? j.io.count : j.io.src.byteLength / j.inSize;
    if (j.claim === undefined) {
      castRange(m, 0, n);
    } else {
      const { counters, chunk, chunks } = j.claim;
      for (let k = Atomics.add(counters, 0, 1); k < chunks; k = Atomics.add(counters, 0, 1)) {
        castRange(m, k * chunk, Math.min(n, (k + 1) * chunk));
        Atomics.add(counters, 1, 1);
        Atomics.notify(counters, 1);
      }
    }
    reply({ id: m.id });
  } catch (e) {
    reply({ id: m.id, error: reason(e) });
  }
}
${listen}
`;
}

const WEB_LISTEN = "self.onmessage = (e) => handle(e.data, (r) => self.postMessage(r));";
const NODE_LISTEN = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => handle(m, (r) => parentPort.postMessage(r)));`;

/** True for a view of a SharedArrayBuffer: only those reach a worker without a copy. */
export function isShared(view: Uint8Array): boolean {
  return typeof SharedArrayBuffer === "function" && view.buffer instanceof SharedArrayBuffer;
}

/** Whether the `cast` a WorkerProgram's workers are given does `from` -> `to` (see WorkerProgram). */
export function programCasts(from: string, to: string): boolean {
  return castPoolSupported() && plainSimdKernel(from, to);
}

/** The kernels, for a WorkerProgram that casts where bytes lie in a WebAssembly memory of its own. */
export interface PrivateCastKit {
  /** For the program's `init`: the module (over a private memory), its layout, and a scratch area's size. */
  init: { module: Uint8Array<ArrayBuffer>; layout: CastLayout; scratch: number };
  /** The text of a `CastKitFunctions` object, to embed in the program's source. */
  source: string;
}

/** What `PrivateCastKit.source` evaluates to in a worker (cpu/cast_simd.ts's functions). */
export interface CastKitFunctions {
  instantiateCast: typeof instantiateCast;
  runCast: typeof runCast;
  runCastAt: typeof runCastAt;
}

/** The kit of a WorkerProgram that casts in a memory of its own (see PrivateCastKit). */
export function privateCastKit(): PrivateCastKit {
  return {
    init: { module: castModuleBytes(false), layout: CAST_LAYOUT, scratch: CAST_SCRATCH },
    source: `{ instantiateCast: ${instantiateCast}, runCast: ${runCast}, runCastAt: ${runCastAt} }`,
  };
}

/** Whether the kernel for `from` -> `to` reads its input where it lies (see cpu/cast_simd.ts `lightCast`). */
export function castReadsInPlace(from: string, to: string): boolean {
  return lightCast(`${from}_${to}`);
}

/**
 * Whether the pool runs here: Deno or Node (their file I/O takes views of shared memory; a browser's
 * storage writes and fetch bodies refuse them), with WebAssembly SIMD and shared WebAssembly memory.
 */
export function castPoolSupported(): boolean {
  supported ??= serverRuntime() && typeof SharedArrayBuffer === "function" && simdCastsAvailable() &&
    sharedWasmMemory();
  return supported;
}

/** castPoolSupported's answer, found once: the runtime does not change, and each check makes a shared memory. */
let supported: boolean | undefined;

/** Deno or Node, not a browser. */
export function serverRuntime(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno !== undefined || g.process?.versions?.node !== undefined;
}

/** Whether the runtime makes shared WebAssembly memories (what the workers cast in). */
function sharedWasmMemory(): boolean {
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

interface Thread {
  thread: WorkerThread;
  /** The kernel whose lookup table this worker's memory holds, as far as the jobs sent so far go. */
  tableOf?: string;
  pending: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: unknown): void;
  thread: Thread;
}

/**
 * A few worker threads that run the cast kernels on slices of shared buffers (and the programs a layer
 * above gives them), so casts use every core while the calling thread reads and writes. The workers'
 * kernels run over the pool's arena (a shared CastArena): buffers taken from it are cast where they lie,
 * others through each worker's scratch area there. Workers start on first use, stop after a while idle,
 * and `close()` stops them for good; a failing worker rejects its jobs with WorkerError E_WORKER.
 */
export class CastPool {
  /** The shared memory the workers cast in: buffers from `arena.allocate` are cast without a copy. */
  readonly arena: CastArena;
  /** Workers to start; the machine's hardware threads when not given. */
  readonly #size: number | undefined;
  readonly #programs: readonly WorkerProgram[];
  #threads: Promise<Thread[]> | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;
  #idle: ReturnType<typeof setTimeout> | undefined;
  readonly #scratchAreas: number[] = [];

  /**
   * `programs`: work besides casts that the workers can run (see WorkerProgram); `arena`: a shared arena to
   * cast in (default a new one). Throws WorkerError E_WORKER where no shared arena can be made.
   */
  constructor(size?: number, programs: readonly WorkerProgram[] = [], arena = CastArena.create(true)) {
    if (arena === undefined || !arena.shared) {
      throw new WorkerError("E_WORKER", "the cast pool needs shared WebAssembly memory, which this runtime refused");
    }
    this.arena = arena;
    this.#size = size === undefined ? undefined : Math.max(1, Math.floor(size));
    this.#programs = programs;
  }

  /**
   * Converts `src` into `out` (both views of SharedArrayBuffers, `out` exactly the result's size), bit for
   * bit as convertCpu. The calling thread works on it too: it and the workers claim chunks until none is
   * left, then it waits only for chunks a worker is still on. A worker that is slow to wake (a busy
   * machine) therefore never delays a cast: it finds nothing left to claim.
   */
  async convert(src: Uint8Array, from: DType, to: DType, out: Uint8Array): Promise<void> {
    checkConvertible(from, to);
    const inSize = itemsize(from);
    const outSize = itemsize(to);
    const n = src.byteLength / inSize;
    if (!Number.isInteger(n) || out.byteLength !== n * outSize) {
      throw new UsageError("E_USAGE", `cannot cast ${src.byteLength} bytes of ${from} into ${out.byteLength} of ${to}`);
    }
    if (!isShared(src) || !isShared(out)) throw new UsageError("E_USAGE", "the cast pool needs shared buffers");
    if (from === to) {
      out.set(src);
      return;
    }
    const threads = await this.#ready();
    const results = castHasTable(from, to) ? lookupTable(from as "float16", to as ConvertTarget) : undefined;
    const chunk = Math.max(16, Math.floor(CLAIM_BYTES / inSize / 16) * 16);
    const chunks = Math.ceil(n / chunk);
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const job: CastJob = {
      name: `${from}_${to}`,
      src,
      inSize,
      dest: out,
      outSize,
      table: results && { results },
      claim: { counters, chunk, chunks },
    };
    // One helper per chunk beyond the caller's first, at most one per worker.
    const helpers = threads.slice(0, Math.min(threads.length, chunks - 1));
    const failed = new Promise<never>((_, reject) => {
      for (const t of helpers) this.#post(t, job).catch(reject);
    });
    failed.catch(() => {}); // surfaces below, if the cast still waits for that worker
    const here = () => results ?? new Uint32Array(0); // only table kernels ask, and they have results
    for (let k = Atomics.add(counters, 0, 1); k < chunks; k = Atomics.add(counters, 0, 1)) {
      const a = k * chunk, b = Math.min(n, a + chunk);
      const dest = out.subarray(a * outSize, b * outSize);
      castSimd(src.subarray(a * inSize, b * inSize), inSize, from, to, dest, outSize, here, this.arena);
      Atomics.add(counters, 1, 1);
    }
    for (let seen = Atomics.load(counters, 1); seen < chunks; seen = Atomics.load(counters, 1)) {
      const wait = Atomics.waitAsync(counters, 1, seen);
      if (wait.async) await Promise.race([wait.value, failed]);
    }
  }

  /** Runs one job on the least busy worker. */
  async run(job: CastJob): Promise<void> {
    await this.#post(leastBusy(await this.#ready()), job);
  }

  /** Runs one job of the program `name` (given to the constructor) on the least busy worker; resolves to its result. */
  async runProgram(name: string, job: unknown): Promise<unknown> {
    if (!this.#programs.some((p) => p.name === name)) throw new UsageError("E_USAGE", `no worker program ${name}`);
    return await this.#send(leastBusy(await this.#ready()), { program: name, job });
  }

  #post(t: Thread, job: CastJob): Promise<unknown> {
    // The table's entries travel only when this worker's scratch area holds another kernel's (jobs run in
    // order, and a worker loads the entries it is sent on arrival).
    const table = job.table === undefined || t.tableOf !== job.name ? job.table : {};
    if (job.table !== undefined) t.tableOf = job.name;
    const { src, dest, ...rest } = job;
    const srcAt = this.arena.addressOf(src), destAt = this.arena.addressOf(dest);
    const io = srcAt !== undefined && destAt !== undefined
      ? {
        src: srcAt,
        dest: destAt,
        count: src.byteLength / job.inSize,
        readInPlace: lightCast(job.name),
      }
      : { src, dest };
    const message: CastMessage = { ...rest, table, io };
    return this.#send(t, { layout: CAST_LAYOUT, job: message });
  }

  #send(t: Thread, message: object): Promise<unknown> {
    const id = this.#nextId++;
    clearTimeout(this.#idle);
    if (t.pending++ === 0) t.thread.hold(true);
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, thread: t });
      t.thread.post({ id, ...message });
    });
  }

  async #ready(): Promise<Thread[]> {
    if (this.#closed) throw new WorkerError("E_WORKER", "the cast pool is closed");
    let threads: Thread[];
    try {
      threads = await (this.#threads ??= this.#start());
    } catch (error) {
      this.#threads = undefined;
      throw new WorkerError("E_WORKER", `could not start the cast workers: ${error}`, { cause: error });
    }
    if (this.#closed) throw new WorkerError("E_WORKER", "the cast pool is closed");
    return threads;
  }

  /** Stops the workers; jobs still running reject with E_WORKER and later calls are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#stop(new WorkerError("E_WORKER", "the cast pool was closed while a cast ran"));
  }

  async #start(): Promise<Thread[]> {
    const module = castModuleBytes(true);
    const programs = this.#programs;
    const threads: Thread[] = [];
    const size = this.#size ?? await defaultPoolSize();
    for (let k = 0; k < size; k++) {
      const entry: Thread = { thread: undefined as unknown as WorkerThread, pending: 0 };
      entry.thread = await startWorker(workerSource(WEB_LISTEN, programs), workerSource(NODE_LISTEN, programs), {
        message: (data) => this.#settle(data as { id: number; error?: string; result?: unknown }),
        failure: (error) =>
          void this.#stop(new WorkerError("E_WORKER", `a pool worker failed: ${error}`, { cause: error })),
      });
      entry.thread.post({
        type: "init",
        module,
        memory: this.arena.memory,
        scratch: this.#scratch(k),
        layout: CAST_LAYOUT,
        programs: programs.map((p) => [p.name, p.init]),
      });
      threads.push(entry);
    }
    return threads;
  }

  /** The scratch area of worker `k` in the arena: taken once, kept for the workers started after a stop. */
  #scratch(k: number): number {
    if (this.#scratchAreas[k] === undefined) {
      const area = this.arena.allocate(CAST_SCRATCH);
      if (area === undefined) {
        throw new WorkerError("E_WORKER", "the cast arena has no room for a worker's scratch area");
      }
      this.#scratchAreas[k] = area.byteOffset;
    }
    return this.#scratchAreas[k];
  }

  #settle(reply: { id: number; error?: string; result?: unknown }): void {
    const job = this.#pending.get(reply.id);
    if (job === undefined) return;
    this.#pending.delete(reply.id);
    if (--job.thread.pending === 0) job.thread.thread.hold(false);
    if (reply.error !== undefined) {
      job.thread.tableOf = undefined; // what its memory holds is no longer known
      job.reject(new WorkerError("E_WORKER", `a pool worker failed: ${reply.error}`));
    } else {
      job.resolve(reply.result);
    }
    if (this.#pending.size === 0 && !this.#closed) {
      this.#idle = setTimeout(() => void this.#stop(undefined), IDLE_MS);
      unrefTimer(this.#idle);
    }
  }

  /** Ends every worker; pending jobs reject with `error`. The next job starts fresh workers. */
  async #stop(error: WorkerError | undefined): Promise<void> {
    clearTimeout(this.#idle);
    const starting = this.#threads;
    this.#threads = undefined;
    for (const [id, job] of this.#pending) {
      this.#pending.delete(id);
      job.reject(error ?? new WorkerError("E_WORKER", "the cast pool stopped while a cast ran"));
    }
    const threads = await starting?.catch(() => []);
    await Promise.all((threads ?? []).map((t) => t.thread.terminate()));
  }
}

function leastBusy(threads: Thread[]): Thread {
  return threads.reduce((a, b) => (b.pending < a.pending ? b : a));
}

/** Workers a pool starts when no size is given: one per hardware thread, at most MAX_DEFAULT_WORKERS. */
export async function defaultPoolSize(): Promise<number> {
  return Math.min(MAX_DEFAULT_WORKERS, await machineParallelism());
}

/** The machine's hardware threads, as the runtime reports them. */
async function machineParallelism(): Promise<number> {
  const reported = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (reported !== undefined && reported > 0) return reported;
  const os = hostModule<{ availableParallelism?: () => number; cpus(): unknown[] }>("node:os");
  return os === undefined ? 1 : os.availableParallelism?.() ?? os.cpus().length;
}
