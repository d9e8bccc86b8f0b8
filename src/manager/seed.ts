/**
 * Seed checkpoints: a model-only `step-0` with TorchTitan's initialisation for the model (llama3 0.3.0:
 * embedding N(0, 1); wq/wk/wv and w1 truncated N(0, 0.02); wo, w2 and w3 truncated N(0, 0.02 / sqrt(2 (layer
 * + 1))); the output head truncated N(0, dim^-0.5) within 3 std; norms 1; a tied head shares the
 * embedding's values). Values come from a counter-based generator (seed_random.ts), so they are the same
 * for any rank count, and each tensor is generated in bands of rows while it is written: an 8B seed needs
 * a few MiB of memory.
 */
import { LLAMA3_KEY_GENERATIONS, llama3Flavor, type Llama3Parameter, llama3Parameters } from "../adapters/mod.ts";
import type { JobProgress } from "../tasks/mod.ts";
import type { DcpMetadata, DcpWriteItem, StatePath } from "../dcp/mod.ts";
import { shardBox, writeDcp } from "../dcp/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { createCpuEngine, type Engine } from "../engine/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { numel } from "../tensor/mod.ts";
import { CounterRandom } from "./seed_random.ts";

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
  /** Converts the float32 values to `dtype` (default the CPU engine). */
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

/** float32 values of elements [start, start + out.length) of a parameter. */
function fill(init: Init, rng: CounterRandom | undefined, start: number, out: Float32Array): void {
  if (init.kind === "ones") out.fill(1);
  else if (init.kind === "normal") rng!.fillNormal(out, start, init.std);
  else rng!.fillTruncNormal(out, start, init.std, init.a, init.b);
}

const BAND_BYTES = 4 << 20;

/** Writes the seed checkpoint and returns its metadata. */
export async function createSeedCheckpoint(storage: Storage, opts: SeedOptions): Promise<DcpMetadata> {
  if (opts.model !== "llama3") {
    throw new UsageError("E_USAGE", `seed checkpoints know llama3 only, not '${opts.model}'`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UsageError("E_USAGE", `seed must be an integer >= 0, got ${seed}`);
  }
  const dtype: DType = opts.dtype ?? "float32";
  const ranks = opts.ranks ?? 1;
  if (!Number.isSafeInteger(ranks) || ranks < 1) throw new UsageError("E_USAGE", `ranks must be >= 1, got ${ranks}`);
  const flavor = llama3Flavor(opts.flavor);
  const keys = LLAMA3_KEY_GENERATIONS[opts.keys ?? "head"];
  if (!keys) throw new UsageError("E_USAGE", `unknown llama3 key generation '${opts.keys}' (known: head, classic)`);
  const engine = opts.engine ?? createCpuEngine();
  const params = llama3Parameters(flavor, keys);
  const streams = llama3Parameters(flavor, LLAMA3_KEY_GENERATIONS.head).map((p) => p.titan); // same order
  const headStream = streams[params.findIndex((p) => p.isOutputHead)];
  const bytesTotal = params.reduce((n, p) => n + numel(p.shape) * itemsize(dtype), 0);
  let bytesDone = 0;
  const perRank: DcpWriteItem[][] = Array.from({ length: ranks }, () => []);
  const plannerData = new Map<string, StatePath>();
  for (const [index, p] of params.entries()) {
    const init = llama3Init(p, flavor.dim, flavor.weightTying, headStream, streams[index]);
    const rng = init.kind === "ones" ? undefined : new CounterRandom(seed, init.stream);
    const rowElements = numel(p.shape.slice(1));
    plannerData.set(p.titan, [p.titan]);
    const bands = async function* (firstRow: number, rows: number): AsyncIterable<Uint8Array> {
      const bandRows = Math.min(rows, Math.max(1, Math.floor(BAND_BYTES / 4 / Math.max(1, rowElements))));
      // One band's buffers, reused: the writer is done with a band when it asks for the next (a sink's
      // write resolves once its bytes may be reused), and fresh memory would cost a page fault per 4 KiB.
      const wide = new Float32Array(bandRows * rowElements);
      const narrow = dtype === "float32" ? undefined : new Uint8Array(wide.length * itemsize(dtype));
      for (let row = firstRow; row < firstRow + rows; row += bandRows) {
        opts.signal?.throwIfAborted();
        const n = Math.min(bandRows, firstRow + rows - row) * rowElements;
        const f32 = wide.subarray(0, n);
        fill(init, rng, row * rowElements, f32);
        const raw = new Uint8Array(f32.buffer, 0, f32.byteLength);
        const out = narrow === undefined
          ? raw
          : await engine.convert(raw, "float32", dtype, narrow.subarray(0, n * itemsize(dtype)));
        bytesDone += out.byteLength;
        opts.onProgress?.({ bytesDone, bytesTotal, current: p.titan });
        yield out;
      }
    };
    for (let r = 0; r < ranks; r++) {
      const box = shardBox(p.shape, 0, ranks, r);
      perRank[r].push({
        fqn: p.titan,
        dtype,
        globalShape: [...p.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: () => Promise.resolve(bands(box.offsets[0], box.sizes[0])),
      });
    }
  }
  return await writeDcp(storage, opts.dir ?? "step-0", { ranks: perRank, plannerData });
}
