import { invariant } from "../../errors/mod.ts";
import { CAST_SCRATCH, type CastInstance, castModuleBytes, type InPlaceMemory, instantiateCast } from "./cast_simd.ts";

/** Bytes of address space an arena takes (pages count only once touched). */
const ARENA_BYTES = 1 << 30;
/** Blocks start on this boundary (a memory page: also what direct I/O asks of a buffer's address). */
const BLOCK_ALIGN = 4096;

/**
 * Memory the CPU engine casts in place: one WebAssembly memory from which a pipeline takes its buffers,
 * and over which the cast kernels run where the bytes lie. Through a scratch area, a cast copies its
 * input in and its output out 16K elements at a time, which costs three times the cast itself (float32 ->
 * bfloat16: 3.9 GB/s through scratch against 16 GB/s for the kernel alone, bench/RESULTS.md); on arena
 * buffers nothing is copied. Shared (a SharedArrayBuffer) when the engine has worker threads, which
 * instantiate the kernels over the same memory; private otherwise.
 *
 * Blocks are handed out first fit from the low end, so buffers given back are reused and the pages a job
 * touches stay few. A request the arena cannot meet gets undefined (the caller takes ordinary memory).
 */
export class CastArena implements InPlaceMemory {
  /** This thread's instance of the kernels over the arena (its scratch area is the arena's first block). */
  readonly here: CastInstance;
  /** Free ranges, by address: [start, end). */
  #free: [number, number][];
  /** Blocks handed out: start -> bytes. */
  readonly #used = new Map<number, number>();

  private constructor(readonly memory: WebAssembly.Memory, readonly shared: boolean, bytes: number) {
    this.#free = [[0, bytes]];
    this.here = instantiateCast(castModuleBytes(shared), memory, this.#take(CAST_SCRATCH)!);
  }

  /**
   * An arena of `bytes` (default 1 GiB of address space), shared or not; undefined where the runtime
   * refuses such a memory or the kernels (no SIMD, no compiling).
   */
  static create(shared: boolean, bytes = ARENA_BYTES): CastArena | undefined {
    try {
      const pages = bytes / 65536;
      const memory = new WebAssembly.Memory(
        shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages, maximum: pages },
      );
      return new CastArena(memory, shared, bytes);
    } catch {
      return undefined;
    }
  }

  /** A buffer of `bytes` in the arena (its address a multiple of 4096), or undefined when none is free. */
  allocate(bytes: number): Uint8Array | undefined {
    const at = this.#take(bytes);
    return at === undefined ? undefined : new Uint8Array(this.memory.buffer, at, bytes);
  }

  /** Gives a buffer from `allocate` back; any other view is ignored. */
  release(buffer: Uint8Array): void {
    const at = this.addressOf(buffer);
    const bytes = at === undefined ? undefined : this.#used.get(at);
    if (at === undefined || bytes === undefined) return;
    this.#used.delete(at);
    const free = this.#free;
    let k = free.findIndex(([start]) => start > at);
    if (k === -1) k = free.length;
    free.splice(k, 0, [at, at + bytes]);
    // Merge with the neighbours it touches.
    if (k + 1 < free.length && free[k][1] === free[k + 1][0]) free.splice(k, 2, [free[k][0], free[k + 1][1]]);
    if (k > 0 && free[k - 1][1] === free[k][0]) free.splice(k - 1, 2, [free[k - 1][0], free[k][1]]);
  }

  /** The byte address of `view` in the arena's memory, or undefined when it lies elsewhere. */
  addressOf(view: Uint8Array): number | undefined {
    return view.buffer === this.memory.buffer ? view.byteOffset : undefined;
  }

  /** Takes the lowest free range that fits `bytes` rounded up to whole blocks. */
  #take(bytes: number): number | undefined {
    invariant(Number.isSafeInteger(bytes) && bytes >= 0, `an arena block of ${bytes} bytes`);
    const size = Math.max(BLOCK_ALIGN, Math.ceil(bytes / BLOCK_ALIGN) * BLOCK_ALIGN);
    const k = this.#free.findIndex(([start, end]) => end - start >= size);
    if (k === -1) return undefined;
    const [start, end] = this.#free[k];
    if (end - start === size) this.#free.splice(k, 1);
    else this.#free[k] = [start + size, end];
    this.#used.set(start, size);
    return start;
  }
}
