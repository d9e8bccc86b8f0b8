/**
 * Seed checkpoints: a model-only `step-0` with TorchTitan's initialisation for the model (llama3 0.3.0:
 * embedding N(0, 1); wq/wk/wv and w1 truncated N(0, 0.02); wo, w2 and w3 truncated N(0, 0.02 / sqrt(2 (layer
 * + 1))); the output head truncated N(0, dim^-0.5) within 3 std; norms 1; a tied head shares the
 * embedding's values). Values come from a counter-based generator (seed_random.ts, and its WebAssembly twin
 * seed_simd.ts), so they are the same for any rank count, and each tensor is generated in bands of rows while
 * it is written, a few bands ahead on worker threads: 2 bands per worker and the one being written, each
 * at most 4 MiB of float32 (2 MiB of bfloat16), whatever the flavor: 68 MiB with the default 8 workers.
 */
import { LLAMA3_KEY_GENERATIONS, llama3Flavor, type Llama3Parameter, llama3Parameters } from "../adapters/mod.ts";
import type { JobProgress } from "../tasks/mod.ts";
import type { DcpMetadata, DcpWriteItem, StatePath } from "../dcp/mod.ts";
import { shardBox, writeDcp } from "../dcp/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { createCpuEngine, type Engine } from "../engine/mod.ts";
import { CastPool, castPoolSupported, defaultPoolSize } from "../engine/pool/mod.ts";
import { invariant, UsageError } from "../errors/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { numel } from "../tensor/mod.ts";
import { CounterRandom } from "./seed_random.ts";
import { fillSeedSimd, type SeedJob, seedSimdAvailable, seedWorkerProgram } from "./seed_simd.ts";

/** What seed checkpoint `createSeedCheckpoint` writes, and how. */
export interface SeedOptions {
  /** The model family (llama3 only for now). */
  model: "llama3";
  /** The model flavor by TorchTitan's name (`debugmodel`, `8B`, ...). */
  flavor: string;
  /** Default 0. */
  seed?: number;
  /** Default float32 (TorchTitan's seed is its float32 model). */
  dtype?: "float32" | "bfloat16" | "float16";
  /** Key names: `head` (torchtitan 0.3.0, the default) or `classic` (v0.1-v0.2.x). */
  keys?: "head" | "classic";
  /** Simulated writer ranks, each writing rows of every tensor (DTensor Shard(0)); default 1. */
  ranks?: number;
  /** The step folder (default `step-0`). */
  dir?: string;
  /**
   * Worker threads that generate bands (and cast them) while this thread writes: default one per hardware
   * thread, at most 8; 0 generates on this thread (also where workers or shared memory are missing).
   */
  workers?: number;
  /** Converts the float32 values to `dtype` when bands are generated on this thread (default the CPU twin). */
  engine?: Engine;
  /** Aborts the write between bands of rows. */
  signal?: AbortSignal;
  /** Called per band of rows generated: tensor bytes done of all, and the parameter being written. */
  onProgress?: (p: JobProgress) => void;
}

/** How one parameter is drawn. */
type Init =
  | { kind: "ones" }
  | { kind: "normal"; std: number; stream: string }
  | { kind: "trunc"; std: number; a: number; b: number; stream: string };

/**
 * TorchTitan 0.3.0's llama3 `param_init` for each parameter. `stream` names its random numbers: the
 * parameter's torchtitan 0.3.0 name whichever key generation is written, so both give the same values.
 */
export function llama3Init(p: Llama3Parameter, dim: number, tied: boolean, headStream: string, stream = p.titan): Init {
  const name = p.titan;
  const layer = /^layers\.(\d+)\./.exec(name);
  const depthStd = layer ? 0.02 / Math.sqrt(2 * (Number(layer[1]) + 1)) : 0.02;
  const head: Init = { kind: "trunc", std: dim ** -0.5, a: -3 * dim ** -0.5, b: 3 * dim ** -0.5, stream: headStream };
  if (name.endsWith("norm.weight")) return { kind: "ones" };
  if (p.isOutputHead) return head;
  if (name === "tok_embeddings.weight") return tied ? head : { kind: "normal", std: 1, stream };
  if (/\.(wq|wk|wv|w1)\.weight$/.test(name)) return { kind: "trunc", std: 0.02, a: -2, b: 2, stream };
  if (/\.(wo|w2|w3)\.weight$/.test(name)) return { kind: "trunc", std: depthStd, a: -2, b: 2, stream };
  throw new UsageError("E_UNKNOWN_KEY", `no initialisation rule for llama3 parameter '${name}'`);
}

/** Float32 bytes per band of rows: the piece that is generated, cast and written at once. */
const BAND_BYTES = 4 << 20;
/**
 * Bands generated ahead of the one being written, per worker: enough that every worker stays busy while the
 * writer waits on the disk, few enough that memory stays at 8 MiB per worker (float32).
 */
const AHEAD_PER_WORKER = 2;

/** One band of rows of one rank's chunk of a parameter: elements [start, start + count). */
interface Band {
  init: Init;
  rng: CounterRandom | undefined;
  start: number;
  count: number;
}

/** Generates a band as `dtype` into the front of `into` and returns that view. */
type MakeBand = (band: Band, into: Uint8Array) => Promise<Uint8Array>;

/**
 * Bands in the order the writer takes them (rank by rank, item by item), each made `ahead` bands early into
 * one of `ahead + 1` buffers: when the writer asks for band k it is done with band k - 1 (a sink's write
 * resolves once its bytes may be reused), whose buffer then takes band k + ahead.
 */
class BandFeed {
  readonly #made: (Promise<Uint8Array> | undefined)[] = [];
  readonly #buffers: Uint8Array[] = [];
  #taken = 0;

  constructor(
    private readonly bands: readonly Band[],
    private readonly ahead: number,
    private readonly make: MakeBand,
    private readonly allocate: () => Uint8Array,
  ) {}

  take(k: number): Promise<Uint8Array> {
    invariant(k === this.#taken, `seed bands are written in order: asked for ${k}, next is ${this.#taken}`);
    this.#taken++;
    for (let j = this.#made.length; j <= Math.min(k + this.ahead, this.bands.length - 1); j++) {
      const slot = j % (this.ahead + 1);
      const made = this.make(this.bands[j], this.#buffers[slot] ??= this.allocate());
      made.catch(() => {}); // a band made early fails the write when (and if) it is taken
      this.#made[j] = made;
    }
    const made = this.#made[k]!;
    this.#made[k] = undefined;
    return made;
  }
}

/**
 * Makes bands on this thread: the WebAssembly generator where it runs, else the TypeScript twin. Its float32
 * scratch is shared by calls: the feed of this thread makes one band at a time, and on the pool only `ones`
 * bands come here, whose scratch holds ones whichever call filled it last.
 */
function bandsHere(dtype: DType, engine: Engine): MakeBand {
  let wide: Float32Array | undefined;
  return async (band, into) => {
    const out = into.subarray(0, band.count * itemsize(dtype));
    const f32 = dtype === "float32"
      ? new Float32Array(out.buffer, out.byteOffset, band.count)
      : (wide = wide !== undefined && wide.length >= band.count ? wide : new Float32Array(band.count))
        .subarray(0, band.count);
    const { init, rng, start } = band;
    if (init.kind === "ones") f32.fill(1);
    else {
      const [a, b] = init.kind === "trunc" ? [init.a, init.b] : [-Infinity, Infinity];
      if (!fillSeedSimd(rng!, f32, start, init.std, a, b)) rng!.fillTruncNormal(f32, start, init.std, a, b);
    }
    if (dtype === "float32") return out;
    return await engine.convert(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength), "float32", dtype, out);
  };
}

/** Makes bands on the pool's workers (generated, and cast where the module does not write the dtype); `ones` bands on this thread. */
function bandsOnPool(pool: CastPool, dtype: SeedJob["dtype"], here: MakeBand): MakeBand {
  return async (band, into) => {
    if (band.init.kind === "ones") return await here(band, into);
    const { init, rng, start, count } = band;
    const dest = into.subarray(0, count * itemsize(dtype));
    const job: SeedJob = {
      keys: rng!.keys,
      start,
      count,
      std: init.std,
      a: init.kind === "trunc" ? init.a : -Infinity,
      b: init.kind === "trunc" ? init.b : Infinity,
      dtype,
      dest,
    };
    await pool.runProgram("seed", job);
    return dest;
  };
}

/** Writes the seed checkpoint and returns its metadata. */
export async function createSeedCheckpoint(storage: Storage, opts: SeedOptions): Promise<DcpMetadata> {
  if (opts.model !== "llama3") {
    throw new UsageError("E_USAGE", `seed checkpoints know llama3 only, not '${opts.model}'`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UsageError("E_USAGE", `seed must be an integer >= 0, got ${seed}`);
  }
  const dtype = opts.dtype ?? "float32";
  const ranks = opts.ranks ?? 1;
  if (!Number.isSafeInteger(ranks) || ranks < 1) throw new UsageError("E_USAGE", `ranks must be >= 1, got ${ranks}`);
  const workers = opts.workers ?? await defaultPoolSize();
  if (!Number.isSafeInteger(workers) || workers < 0) {
    throw new UsageError("E_USAGE", `workers must be an integer >= 0, got ${workers}`);
  }
  const flavor = llama3Flavor(opts.flavor);
  const keys = LLAMA3_KEY_GENERATIONS[opts.keys ?? "head"];
  if (!keys) throw new UsageError("E_USAGE", `unknown llama3 key generation '${opts.keys}' (known: head, classic)`);
  const params = llama3Parameters(flavor, keys);
  const streams = llama3Parameters(flavor, LLAMA3_KEY_GENERATIONS.head).map((p) => p.titan); // same order
  const headStream = streams[params.findIndex((p) => p.isOutputHead)];
  const bytesTotal = params.reduce((n, p) => n + numel(p.shape) * itemsize(dtype), 0);
  let bytesDone = 0;
  const bands: Band[] = [];
  let bandElements = 0;
  const perRank: DcpWriteItem[][] = Array.from({ length: ranks }, () => []);
  const plannerData = new Map<string, StatePath>();
  for (let r = 0; r < ranks; r++) {
    for (const [index, p] of params.entries()) {
      const init = llama3Init(p, flavor.dim, flavor.weightTying, headStream, streams[index]);
      const rng = init.kind === "ones" ? undefined : new CounterRandom(seed, init.stream);
      const rowElements = numel(p.shape.slice(1));
      plannerData.set(p.titan, [p.titan]);
      const box = shardBox(p.shape, 0, ranks, r);
      const [firstRow, rows] = [box.offsets[0], box.sizes[0]];
      const bandRows = Math.min(rows, Math.max(1, Math.floor(BAND_BYTES / 4 / Math.max(1, rowElements))));
      const first = bands.length;
      for (let row = firstRow; row < firstRow + rows; row += bandRows) {
        const count = Math.min(bandRows, firstRow + rows - row) * rowElements;
        bands.push({ init, rng, start: row * rowElements, count });
        bandElements = Math.max(bandElements, count);
      }
      const last = bands.length;
      const chunkBands = async function* (): AsyncIterable<Uint8Array> {
        for (let k = first; k < last; k++) {
          opts.signal?.throwIfAborted();
          const out = await feed.take(k); // the feed below: made once every band is planned
          bytesDone += out.byteLength;
          opts.onProgress?.({ bytesDone, bytesTotal, current: p.titan });
          yield out;
        }
      };
      perRank[r].push({
        fqn: p.titan,
        dtype,
        globalShape: [...p.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: () => Promise.resolve(chunkBands()),
      });
    }
  }
  const pool = workers > 0 && castPoolSupported() && seedSimdAvailable()
    ? new CastPool(workers, [seedWorkerProgram()])
    : undefined;
  const here = bandsHere(dtype, opts.engine ?? createCpuEngine({ workers: 0 }));
  const bandBytes = bandElements * itemsize(dtype);
  const feed = pool === undefined ? new BandFeed(bands, 0, here, () => new Uint8Array(bandBytes)) : new BandFeed(
    bands,
    AHEAD_PER_WORKER * workers,
    bandsOnPool(pool, dtype, here),
    () => new Uint8Array(new SharedArrayBuffer(bandBytes)),
  );
  try {
    return await writeDcp(storage, opts.dir ?? "step-0", { ranks: perRank, plannerData });
  } finally {
    await pool?.close();
  }
}
