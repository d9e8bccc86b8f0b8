import { itemsize } from "../dtype/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { boxNumel } from "../tensor/mod.ts";
import { rowBands } from "./bands.ts";
import type { BytePiece, MadeRange, StoredRange } from "../storage/mod.ts";
import { pieceLength } from "../storage/mod.ts";
import { invariant } from "../errors/mod.ts";
import type { DescriptorCaster } from "./descriptor_cast.ts";
import type { TensorSource } from "../source/mod.ts";
import type { TargetTensor } from "./targets.ts";
import { readTargetBox } from "./targets.ts";

/** One region of a target tensor to produce, in the target's dtype. */
export interface BandJob {
  /** The tensor the band belongs to. */
  target: TargetTensor;
  /** The band, in the target tensor's coordinates. */
  box: Box;
  /** Where the region's bytes are stored, when the output copies them itself (then nothing is read). */
  stored?: StoredRange[];
  /** Where the region's source bytes are stored, when a DescriptorCaster casts them into the output. */
  made?: StoredRange[];
}

/** Options of `BandPipeline`. */
export interface BandPipelineOptions {
  /**
   * A job is read ahead only when its source bytes are at most this many: read-ahead doubles the memory
   * held, which is cheap for bands and not for a whole multi-hundred-MiB tensor.
   */
  readAheadBytes: number;
  /** Casts the jobs planned as made ranges (`made`). */
  caster?: DescriptorCaster;
}

/**
 * What a job gives: its bytes, where they are stored when the output copies them itself, or a range a sink
 * that can has cast by descriptor.
 */
export type BandOutput = Uint8Array | StoredRange[] | MadeRange;

/** Output bytes of a band cast by descriptor: one job for a worker, which works through it in steps. */
const MADE_BAND_BYTES = 4 << 20;
/** Regions of fewer output bytes are cast here, in the pipeline: a worker's round trip costs more than their cast. */
const MADE_MIN_BYTES = 1 << 20;

/**
 * A target region as jobs of whole dim-0 rows of at most `bandBytes` each (counted in the wider of the
 * source and target dtypes; a single longer row is its own job), in row-major order.
 */
function bandJobs(target: TargetTensor, box: Box, bandBytes: number): BandJob[] {
  const widest = Math.max(itemsize(target.dtype), itemsize(target.source.dtype));
  return rowBands(box, widest, bandBytes).map((band) => ({ target, box: band }));
}

/**
 * The jobs of a target region: when `copies` (the output copies stored bytes without reading them) and the
 * region only moves bytes (same dtype, no row permutation) and the source can tell where they are stored,
 * one job with those stored ranges, whatever its size (no buffer holds it; one copy per stored piece);
 * else bands (`bandJobs`).
 */
export async function regionJobs(
  source: TensorSource,
  target: TargetTensor,
  box: Box,
  opts: { bandBytes: number; copies: boolean; caster?: DescriptorCaster },
): Promise<BandJob[]> {
  if (opts.copies && movesBytesOnly(target) && source.locate !== undefined) {
    const stored = await source.locate(target.source.name, box);
    if (stored !== undefined) return [{ target, box, stored }];
  }
  if (
    boxNumel(box) * itemsize(target.dtype) >= MADE_MIN_BYTES && target.rowPermutation === undefined &&
    source.locate !== undefined && opts.caster?.casts(target.source.dtype, target.dtype)
  ) {
    const made = await madeJobs(source, target, box);
    if (made !== undefined) return made;
  }
  return bandJobs(target, box, opts.bandBytes);
}

/**
 * Bands of the region to cast by descriptor, when its source bytes are stored as a few runs (which, one
 * after the other, are the region's bytes in row-major order, so a band of rows is a stretch of them);
 * else undefined.
 */
async function madeJobs(source: TensorSource, target: TargetTensor, box: Box): Promise<BandJob[] | undefined> {
  const stored = await source.locate!(target.source.name, box);
  if (stored === undefined) return undefined;
  // A region of a MiB or more has rows (dim 0).
  const rowBytes = (boxNumel(box) / box.sizes[0]) * itemsize(target.source.dtype);
  return rowBands(box, itemsize(target.dtype), MADE_BAND_BYTES).map((band) => {
    const start = (band.offsets[0] - box.offsets[0]) * rowBytes;
    return {
      target,
      box: band,
      made: storedStretch(stored, start, start + boxNumel(band) * itemsize(target.source.dtype)),
    };
  });
}

/** Bytes [start, end) of the stored runs taken one after the other, as runs. */
function storedStretch(runs: readonly StoredRange[], start: number, end: number): StoredRange[] {
  const out: StoredRange[] = [];
  let at = 0;
  for (const run of runs) {
    const lo = Math.max(start, at), hi = Math.min(end, at + run.length);
    if (lo < hi) out.push({ ...run, offset: run.offset + (lo - at), length: hi - lo });
    at += run.length;
  }
  return out;
}

/** Same dtype and no row permutation: the output's bytes are the source's, as stored. */
function movesBytesOnly(t: TargetTensor): boolean {
  return t.rowPermutation === undefined && t.dtype === t.source.dtype;
}

/**
 * A byte buffer that is kept and regrown, never shrunk: touching fresh memory is what costs here. Taken
 * from the engine whenever it offers one (`Engine.buffer`: memory it casts without copying, on its worker
 * threads too), else plain memory, and asked again while it offers none (a lazy engine not yet decided).
 */
class ReusedBuffer {
  #view: Uint8Array = new Uint8Array(0);
  /** Whether the buffer came from the engine (and goes back to it). */
  #fromEngine = false;

  constructor(private readonly engine: Engine) {}

  get capacity(): number {
    return this.#view.byteLength;
  }

  release(): void {
    if (this.#fromEngine) this.engine.releaseBuffer?.(this.#view);
    this.#view = new Uint8Array(0);
    this.#fromEngine = false;
  }

  take(bytes: number): Uint8Array {
    const small = this.#view.byteLength < bytes;
    if (small || (!this.#fromEngine && this.engine.buffer !== undefined)) {
      const size = Math.max(bytes, this.#view.byteLength);
      const offered = this.engine.buffer?.(size);
      if (offered !== undefined || small) {
        this.release();
        this.#view = offered ?? new Uint8Array(size);
        this.#fromEngine = offered !== undefined;
      }
    }
    return this.#view.subarray(0, bytes);
  }
}

/** Jobs in flight at once: the one the caller holds, plus two being read or cast ahead of it. */
const SLOTS = 3;

/** A read buffer and a cast buffer, used by one job at a time. */
interface Slot {
  read: ReusedBuffer;
  cast: ReusedBuffer;
}

/**
 * Produces the regions of target tensors for one output stream (a file being written), in the order the
 * writer asks for them, through three slots of buffers (one for the source read, one for the cast) used
 * again and again. While the caller writes region `i`, regions `i + 1` and `i + 2` of the planned order
 * are already being prepared: their reads run in the runtime's I/O threads and each cast runs as soon as
 * its read lands (on the CPU engine's worker threads when it has them, else on the main thread). So the read of one region, the cast of the next and the write of a
 * third proceed at once, and no bytes are copied to do it.
 *
 * The bytes `produce` returns stay valid until the next `produce` call; a writer must be done with them
 * by then (a `ByteSink.write` that resolved is). A job asked for out of the planned order is still
 * produced correctly, only without the overlap. Memory: three jobs of at most `readAheadBytes` each, in
 * both dtypes; a larger job is not prepared ahead and takes the slot that grew largest, so only one slot
 * grows to the largest job.
 */
export class BandPipeline {
  readonly #source: TensorSource;
  readonly #engine: Engine;
  readonly #jobs: BandJob[];
  readonly #position: Map<BandJob, number>;
  /** The planned position of the job produced last (-1: none yet). */
  #last = -1;
  readonly #readAheadBytes: number;
  readonly #caster: DescriptorCaster | undefined;
  readonly #slots: Slot[];
  /** Slots neither held by the caller nor preparing a job. */
  #free: Slot[];
  /** The slot of the bytes the caller holds. */
  #held: Slot | undefined;
  /** Jobs being prepared, by index in the planned order. */
  readonly #ahead = new Map<number, { slot: Slot; bytes: Promise<BandOutput> }>();

  /** A pipeline over `jobs`, in the order they will be asked for. */
  constructor(source: TensorSource, engine: Engine, jobs: readonly BandJob[], opts: BandPipelineOptions) {
    this.#source = source;
    this.#engine = engine;
    this.#slots = Array.from(
      { length: SLOTS },
      () => ({ read: new ReusedBuffer(engine), cast: new ReusedBuffer(engine) }),
    );
    this.#free = [...this.#slots];
    this.#jobs = [...jobs];
    this.#position = new Map(jobs.map((j, i) => [j, i]));
    this.#readAheadBytes = opts.readAheadBytes;
    this.#caster = opts.caster;
  }

  /** Plans `jobs` after those planned so far: they are prepared ahead as if planned from the start. */
  append(jobs: readonly BandJob[]): void {
    for (const job of jobs) this.#position.set(job, this.#jobs.push(job) - 1);
    if (this.#last >= 0) this.#prepareAhead(this.#last);
  }

  /** The job's region in the target dtype (row permutation applied), or where it is stored. */
  async produce(job: BandJob): Promise<BandOutput> {
    // Asking for the next job means the caller is done with the bytes it holds.
    if (this.#held !== undefined) this.#free.push(this.#held);
    this.#held = undefined;
    const index = this.#position.get(job) ?? -1;
    const prepared = this.#ahead.get(index);
    let bytes: BandOutput;
    if (prepared !== undefined) {
      this.#ahead.delete(index);
      this.#dropSkipped(index);
      this.#held = prepared.slot;
      bytes = await prepared.bytes;
    } else {
      // Out of order, or too big to prepare ahead: once the jobs in flight land every slot is free, and the
      // one that grew largest is taken.
      await this.settle();
      const slot = this.#free.reduce((a, b) => (b.read.capacity > a.read.capacity ? b : a));
      this.#free = this.#free.filter((s) => s !== slot);
      this.#held = slot;
      bytes = await this.#prepare(job, slot);
    }
    if (index >= 0) this.#prepareAhead(this.#last = index);
    return bytes;
  }

  /**
   * The jobs' bytes one after the other, as the pieces of one record or tensor (each piece valid until the
   * next is asked for); `onPiece` hears each piece's size as it is handed out.
   */
  async *stream(jobs: readonly BandJob[], onPiece?: (bytes: number) => void): AsyncIterable<BytePiece> {
    for (const job of jobs) {
      const out = await this.produce(job);
      for (const piece of Array.isArray(out) ? out : [out]) {
        onPiece?.(pieceLength(piece));
        yield piece;
      }
    }
  }

  /** Waits for the jobs still being prepared, so the source can be closed under no one. */
  async settle(): Promise<void> {
    for (const [index, { slot, bytes }] of this.#ahead) {
      await bytes.catch(() => {});
      this.#ahead.delete(index);
      this.#free.push(slot);
    }
  }

  /** Settles and lets go of the buffers, once the stream this pipeline fed is written. */
  async release(): Promise<void> {
    await this.settle();
    for (const s of this.#slots) {
      s.read.release();
      s.cast.release();
    }
  }

  /** Jobs prepared before `index` that the caller skipped: their slots are free once their reads land. */
  #dropSkipped(index: number): void {
    for (const [skipped, { slot, bytes }] of this.#ahead) {
      if (skipped > index) continue;
      this.#ahead.delete(skipped);
      void bytes.catch(() => {}).then(() => this.#free.push(slot));
    }
  }

  /** Starts the jobs after `index`, in order, while slots are free and the jobs are small enough. */
  #prepareAhead(index: number): void {
    for (let next = index + 1; next < this.#jobs.length && this.#free.length > 0; next++) {
      if (this.#ahead.has(next)) continue;
      const job = this.#jobs[next];
      if (sourceBytes(job) > this.#readAheadBytes) return;
      // The smallest free slot: the one that grew for a big job stays for the next big job.
      const slot = this.#free.reduce((a, b) => (b.read.capacity < a.read.capacity ? b : a));
      this.#free = this.#free.filter((s) => s !== slot);
      const bytes = this.#prepare(job, slot);
      bytes.catch(() => {}); // surfaces from the produce() that takes it; unclaimed, it is moot
      this.#ahead.set(next, { slot, bytes });
    }
  }

  async #prepare(job: BandJob, slot: Slot): Promise<BandOutput> {
    if (job.stored) return job.stored;
    if (job.made) return this.#madeRange(job, job.made, slot);
    return await this.#bytes(job, slot);
  }

  /** The job as a range made by descriptor; its bytes made here (in the slot) for a sink that cannot. */
  #madeRange(job: BandJob, made: StoredRange[], slot: Slot): MadeRange {
    const caster = this.#caster;
    invariant(caster !== undefined, "made jobs are planned only with a caster");
    const { target, box } = job;
    const count = boxNumel(box);
    return {
      from: made,
      length: count * itemsize(target.dtype),
      crc32: caster.checksums,
      make: (io) => caster.cast(io, target.source.dtype, target.dtype, count, made),
      bytes: () => this.#bytes(job, slot),
    };
  }

  /** The job's bytes in the target dtype, read (and cast) through the slot's buffers. */
  async #bytes(job: BandJob, slot: Slot): Promise<Uint8Array> {
    const { target, box } = job;
    // Permuted rows come through a gather, which casts and allocates on its own.
    if (target.rowPermutation) return await readTargetBox(this.#source, target, box, this.#engine);
    const into = slot.read.take(boxNumel(box) * itemsize(target.source.dtype));
    const raw = (await this.#source.readTensor(target.source.name, box, into)).data;
    if (target.dtype === target.source.dtype) return raw;
    const out = slot.cast.take(boxNumel(box) * itemsize(target.dtype));
    return await this.#engine.convert(raw, target.source.dtype, target.dtype, out);
  }
}

/** Bytes of the job's source region that pass through memory (none for stored or made ranges). */
function sourceBytes(job: BandJob): number {
  return job.stored || job.made ? 0 : boxNumel(job.box) * itemsize(job.target.source.dtype);
}
