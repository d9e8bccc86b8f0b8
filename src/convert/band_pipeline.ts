import { itemsize } from "../dtype/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { boxNumel } from "../tensor/mod.ts";
import type { TensorSource } from "./source_types.ts";
import type { TargetTensor } from "./targets.ts";
import { readTargetBox } from "./targets.ts";

/** One region of a target tensor to produce, in the target's dtype. */
export interface BandJob {
  target: TargetTensor;
  box: Box;
}

export interface BandPipelineOptions {
  /**
   * A job is read ahead only when its source bytes are at most this many: read-ahead doubles the memory
   * held, which is cheap for bands and not for a whole multi-hundred-MiB tensor.
   */
  readAheadBytes: number;
}

/** A byte buffer that is kept and regrown, never shrunk: touching fresh memory is what costs here. */
class ReusedBuffer {
  #buffer = new ArrayBuffer(0);

  get capacity(): number {
    return this.#buffer.byteLength;
  }

  release(): void {
    this.#buffer = new ArrayBuffer(0);
  }

  take(bytes: number): Uint8Array {
    if (this.#buffer.byteLength < bytes) this.#buffer = new ArrayBuffer(bytes);
    return new Uint8Array(this.#buffer, 0, bytes);
  }
}

/**
 * Produces the regions of target tensors for one output stream (a file being written), in the order the
 * writer asks for them, through three buffers used again and again: two for source reads, one for casts.
 * While the caller writes region `i`, region `i + 1` of the planned order is already being read (reads run
 * in the runtime's I/O threads, casts and writes on the main thread), so the two overlap.
 *
 * The bytes `produce` returns stay valid until the next `produce` call; a writer must be done with them
 * by then (a `ByteSink.write` that resolved is). A job asked for out of the planned order is still
 * produced correctly, only without the overlap. Memory: the largest job, plus one job of at most
 * `readAheadBytes` in flight, plus one cast result.
 */
export class BandPipeline {
  readonly #source: TensorSource;
  readonly #engine: Engine;
  readonly #jobs: readonly BandJob[];
  readonly #position: Map<BandJob, number>;
  readonly #readAheadBytes: number;
  readonly #reads = [new ReusedBuffer(), new ReusedBuffer()];
  readonly #casts = new ReusedBuffer();
  #ahead: { index: number; slot: number; bytes: Promise<Uint8Array> } | undefined;

  constructor(source: TensorSource, engine: Engine, jobs: readonly BandJob[], opts: BandPipelineOptions) {
    this.#source = source;
    this.#engine = engine;
    this.#jobs = jobs;
    this.#position = new Map(jobs.map((j, i) => [j, i]));
    this.#readAheadBytes = opts.readAheadBytes;
  }

  /** The job's region in the target dtype (row permutation applied). */
  async produce(job: BandJob): Promise<Uint8Array> {
    const index = this.#position.get(job) ?? -1;
    const ahead = this.#ahead;
    this.#ahead = undefined;
    let raw: Uint8Array;
    let slot: number;
    if (ahead !== undefined && ahead.index === index) {
      raw = await ahead.bytes;
      slot = ahead.slot;
    } else {
      // Out of order, or too big to read ahead: the read in flight (if any) must land before its buffer is
      // free; then both are, and the bigger one is taken so only one grows to the largest job.
      await ahead?.bytes.catch(() => {});
      slot = this.#reads[0].capacity >= this.#reads[1].capacity ? 0 : 1;
      raw = await this.#read(job, slot);
    }
    const next = this.#jobs[index + 1];
    if (index >= 0 && next !== undefined && sourceBytes(next) <= this.#readAheadBytes) {
      const bytes = this.#read(next, 1 - slot);
      bytes.catch(() => {}); // surfaces from the produce() that takes it; unclaimed, it is moot
      this.#ahead = { index: index + 1, slot: 1 - slot, bytes };
    }
    return await this.#finish(job, raw);
  }

  /** Waits for a read still in flight, so the source can be closed under no one. */
  async settle(): Promise<void> {
    await this.#ahead?.bytes.catch(() => {});
    this.#ahead = undefined;
  }

  /** Settles and lets go of the buffers, once the stream this pipeline fed is written. */
  async release(): Promise<void> {
    await this.settle();
    for (const b of [...this.#reads, this.#casts]) b.release();
  }

  async #read(job: BandJob, slot: number): Promise<Uint8Array> {
    const { target, box } = job;
    // Permuted rows come through a gather, which casts and allocates on its own.
    if (target.rowPermutation) return await readTargetBox(this.#source, target, box, this.#engine);
    const into = this.#reads[slot].take(sourceBytes(job));
    return (await this.#source.readTensor(target.source.name, box, into)).data;
  }

  #finish(job: BandJob, raw: Uint8Array): Promise<Uint8Array> | Uint8Array {
    const { target, box } = job;
    if (target.rowPermutation || target.dtype === target.source.dtype) return raw;
    const out = this.#casts.take(boxNumel(box) * itemsize(target.dtype));
    return this.#engine.convert(raw, target.source.dtype, target.dtype, out);
  }
}

function sourceBytes(job: BandJob): number {
  return boxNumel(job.box) * itemsize(job.target.source.dtype);
}
