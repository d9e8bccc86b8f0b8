import { GpuError } from "../../errors/mod.ts";
import { checkAlive, type GpuContext, withErrorScopes } from "./device.ts";

/**
 * Buffers by (size, usage), reused across pieces and jobs: in the steady state a job allocates nothing.
 */
export class BufferPool {
  #free = new Map<string, GPUBuffer[]>();
  #all: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}

  /** Buffers created so far (what the recording-device tests watch). */
  get created(): number {
    return this.#all.length;
  }

  acquire(size: number, usage: number): GPUBuffer {
    const free = this.#free.get(`${size}:${usage}`);
    const reused = free?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size, usage });
    this.#all.push(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.#free.get(key) ?? [];
    list.push(buffer);
    this.#free.set(key, list);
  }

  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all = [];
    this.#free.clear();
  }
}

/** One pipeline stage's buffers: input staging, output, readback, the dispatch parameters. */
export interface Slot {
  src: GPUBuffer;
  out: GPUBuffer;
  read: GPUBuffer;
  params: GPUBuffer;
  meta: GPUBuffer;
}

export const PARAMS_BYTES = 32;
/** Upper bound of the per-slot buffer for region layouts and gather indices (capped by the staging size). */
export const MAX_META_BYTES = 256 * 1024;

export function metaBytesFor(stagingBytes: number): number {
  return Math.min(MAX_META_BYTES, stagingBytes);
}

/** The work of one piece: what to write into its slot, what to encode, what to read back. */
export interface PieceWork {
  write(queue: GPUQueue, slot: Slot): void;
  encode(encoder: GPUCommandEncoder, slot: Slot): void;
  /** Bytes of `slot.out` to bring back (a multiple of 4), 0 when results stay on the GPU. */
  readBytes: number;
  consume?(bytes: Uint8Array): void;
}

/** Pieces in flight at once: upload of k+1, compute of k and readback of k-1 overlap. */
export const PIPELINE_DEPTH = 3;

/**
 * Runs pieces through a ring of PIPELINE_DEPTH slots. Submitting piece k only waits for the readback of
 * piece k - PIPELINE_DEPTH (its slot), so the queue always holds the next uploads and dispatches while
 * earlier results are mapped and copied out.
 */
export async function runPieces(
  context: GpuContext,
  pool: BufferPool,
  stagingBytes: number,
  pieces: Iterable<PieceWork>,
): Promise<void> {
  const { device } = context;
  const U = GPUBufferUsage;
  const slots = await withErrorScopes(
    context,
    "allocating staging buffers",
    () =>
      Array.from({ length: PIPELINE_DEPTH }, (): Slot => ({
        src: pool.acquire(stagingBytes, U.STORAGE | U.COPY_DST),
        out: pool.acquire(stagingBytes, U.STORAGE | U.COPY_SRC | U.COPY_DST),
        read: pool.acquire(stagingBytes, U.MAP_READ | U.COPY_DST),
        params: pool.acquire(PARAMS_BYTES, U.UNIFORM | U.COPY_DST),
        meta: pool.acquire(metaBytesFor(stagingBytes), U.STORAGE | U.COPY_DST),
      })),
  );
  const inflight: Array<Promise<void> | undefined> = new Array(PIPELINE_DEPTH);
  try {
    await withErrorScopes(context, "running GPU kernels", async () => {
      let k = 0;
      for (const piece of pieces) {
        const i = k++ % PIPELINE_DEPTH;
        if (inflight[i]) await inflight[i];
        checkAlive(context);
        const slot = slots[i];
        piece.write(device.queue, slot);
        const encoder = device.createCommandEncoder();
        piece.encode(encoder, slot);
        if (piece.readBytes > 0) encoder.copyBufferToBuffer(slot.out, 0, slot.read, 0, piece.readBytes);
        device.queue.submit([encoder.finish()]);
        inflight[i] = piece.readBytes > 0 ? readBack(context, slot.read, piece) : undefined;
      }
      await Promise.all(inflight);
    });
  } finally {
    // A failed piece may leave a readback mapped; settle them all before the slots go back to the pool.
    await Promise.allSettled(inflight);
    for (const slot of slots) {
      if (slot.read.mapState === "mapped") slot.read.unmap();
      for (const b of Object.values(slot)) pool.release(b);
    }
  }
  await device.queue.onSubmittedWorkDone();
}

async function readBack(context: GpuContext, read: GPUBuffer, piece: PieceWork): Promise<void> {
  try {
    await read.mapAsync(GPUMapMode.READ, 0, piece.readBytes);
  } catch (cause) {
    checkAlive(context);
    throw new GpuError("E_GPU", "mapping a readback buffer failed", { cause });
  }
  try {
    piece.consume?.(new Uint8Array(read.getMappedRange(0, piece.readBytes)));
  } finally {
    read.unmap();
  }
}
