/**
 * Taking a snapshot of the state so the program can change it while the snapshot is written. `copy` (the
 * `async` mode) copies every host tensor and byte value into host memory that its write hands back when it
 * ends: the next snapshot reuses those buffers (by size) and drops the ones it did not need, as a caching
 * allocator would. Fresh memory costs page faults (the kernel zeroes every 4 KiB page on first touch) that
 * took ~3/4 of a 512 MiB snapshot's blocking time, so only the first save and a state that changed its
 * sizes pay them. `pinned` (`async_with_pinned_mem`) gives every tensor its own buffer, host and WebGPU
 * readback, kept for the manager's life, so a steady state allocates nothing. `reference` (synchronous
 * saves) keeps host data where it is. WebGPU tensors are read back in every mode: all copies of a save in
 * one command buffer (`copyBufferToBuffer` into MAP_READ buffers) submitted before `stage()` returns, so
 * work the program queues afterwards cannot change what they copy, then mapped.
 *
 * A snapshot taken in the background (`async_with_pinned_mem`, as TorchTitan's asynchronous staging) does
 * its host copies after `stage()` returns, a few MiB at a time between turns of the event loop, so they
 * fill the time the program waits (on its GPU, say); the program must leave its host tensors alone until
 * `ready` resolves.
 */
import { byteSize, isTensor } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { StateLeaf } from "../dcp/mod.ts";
import { GpuError } from "../errors/mod.ts";
import { GpuStateTensor } from "./states.ts";
import { EventLoopTurns } from "../tasks/mod.ts";

export type StagingMode = "reference" | "copy" | "pinned";

/** Bytes copied (or touched) between looks at the clock while a snapshot is taken in the background. */
const SLICE_BYTES = 4 << 20;
/** The pages `prepare()` touches: the smallest a kernel maps. */
const PAGE_BYTES = 4096;
/** Copying a background snapshot does between turns of the event loop (each turn idles 1-4 ms). */
const TURN_EVERY_MS = 8;

/**
 * A state being staged: its leaves (final once `ready` resolves), and `release()` to call once they are
 * written (their buffers may be reused).
 */
export interface Snapshot {
  entries: Map<string, StateLeaf>;
  /** Resolves once every leaf holds its copy; rejects with what stopped the staging. */
  ready: Promise<void>;
  /** The program waits for `ready`: copy what is left without letting the event loop turn. */
  hurry(): void;
  release(): void;
}

/** How `stage()` works. */
export interface StageOptions {
  signal?: AbortSignal;
  /** Copy host bytes after `stage()` returns, between turns of the event loop (else before it returns). */
  background?: boolean;
}

/** A host copy still to make: `from` into `into`. */
interface HostCopy {
  from: Uint8Array;
  into: Uint8Array;
}

export class Stager {
  /** Buffers this stager has allocated so far (host and GPU); constant across steady-state saves. */
  allocations = 0;
  /** `pinned`: each tensor's own buffer. */
  readonly #host = new Map<string, Uint8Array>();
  readonly #gpu = new Map<string, GPUBuffer>();
  /** `copy`: buffers of written snapshots, by byte length, waiting for the next one. */
  #free = new Map<number, Uint8Array[]>();
  /** `copy`: the buffers of the snapshot being taken. */
  #taken: Uint8Array[] = [];
  /** `pinned`: the buffers `prepare()` allocates and touches in the background. */
  #preparing: { turns: EventLoopTurns; done: Promise<void> } | undefined;

  constructor(readonly mode: StagingMode) {}

  /**
   * The snapshot of `entries` (FQN -> leaf); host tensors in `reference` mode are the caller's own. WebGPU
   * copies are queued before this returns; host copies too unless `background`.
   */
  stage(entries: ReadonlyMap<string, unknown>, opts: StageOptions = {}): Snapshot {
    const { signal, background = false } = opts;
    this.#taken = [];
    try {
      const out = new Map<string, StateLeaf>();
      const host: HostCopy[] = [];
      const gpu: [string, GpuStateTensor][] = [];
      for (const [fqn, leaf] of entries) {
        signal?.throwIfAborted();
        if (leaf instanceof GpuStateTensor) {
          gpu.push([fqn, leaf]);
          out.set(fqn, null); // keeps the flattening order; filled once read back
        } else if ((isTensor(leaf) || leaf instanceof Uint8Array) && this.mode !== "reference") {
          const from = isTensor(leaf) ? leaf.data : leaf;
          const into = this.#hostBuffer(fqn, from.byteLength);
          out.set(fqn, isTensor(leaf) ? { dtype: leaf.dtype, shape: [...leaf.shape], data: into } : into);
          host.push({ from, into });
        } else {
          out.set(fqn, leaf as StateLeaf);
        }
      }
      const readBacks = this.#queueReadBacks(gpu);
      if (!background) { for (const c of host) c.into.set(c.from); }
      // Turns by timer: the program's own timers and I/O must run while the snapshot is taken.
      const turns = background ? new EventLoopTurns(TURN_EVERY_MS, "timer") : undefined;
      const ready = (async () => {
        try {
          if (turns) {
            await turns.turn(); // nothing is copied before stage() returns
            signal?.throwIfAborted();
            await copyBetweenTurns(host, turns, signal);
          }
          for (const r of readBacks) {
            for (const [fqn, t] of await r.read(turns, signal)) out.set(fqn, t);
          }
        } finally {
          turns?.close();
        }
      })();
      ready.catch(() => {}); // the caller awaits it
      return { entries: out, ready, hurry: () => turns?.stop(), release: this.#releaser(this.#taken) };
    } finally {
      // What the snapshot did not take is memory no save needs now.
      this.#free = new Map();
    }
  }

  /**
   * `pinned`: allocates the buffers that snapshots of `entries` need and touches every page of the host ones
   * in the background, between turns of the event loop, so that the first snapshot costs what later ones do
   * (fresh memory costs a page fault per 4 KiB on first touch). Once per stager; other modes do nothing.
   */
  prepare(entries: ReadonlyMap<string, unknown>, signal?: AbortSignal): void {
    if (this.mode !== "pinned" || this.#preparing !== undefined) return;
    const turns = new EventLoopTurns(TURN_EVERY_MS, "timer");
    const done = (async () => {
      try {
        await turns.turn();
        const sizes = new Map<string, number>();
        for (const [fqn, leaf] of entries) {
          if (leaf instanceof GpuStateTensor) {
            const { bytes, padded } = readBackSize(fqn, leaf);
            this.#gpuBuffer(leaf.device, fqn, padded);
            sizes.set(fqn, bytes);
          } else if (isTensor(leaf)) sizes.set(fqn, leaf.data.byteLength);
          else if (leaf instanceof Uint8Array) sizes.set(fqn, leaf.byteLength);
        }
        for (const [key, bytes] of sizes) {
          if (this.#host.get(key)?.byteLength === bytes) continue;
          // Touched while no snapshot can see it, then kept (unless a snapshot took a buffer of its own).
          const b = new Uint8Array(bytes);
          this.allocations++;
          await bySlices(bytes, turns, signal, (at, end) => {
            for (let page = at; page < end; page += PAGE_BYTES) b[page] = 0;
          });
          if (this.#host.get(key)?.byteLength !== bytes) this.#host.set(key, b);
        }
      } finally {
        turns.close();
      }
    })();
    done.catch(() => {}); // see prepared()
    this.#preparing = { turns, done };
  }

  /**
   * Waits for `prepare()` to end, hurrying it on (no more turns). What stopped it is left to the snapshot
   * that needs the buffers (a state that cannot be read fails its save there).
   */
  async prepared(): Promise<void> {
    const p = this.#preparing;
    if (p === undefined) return;
    p.turns.stop();
    await p.done.catch(() => {});
  }

  /** `release()` of a snapshot whose buffers are `taken`: `copy` mode offers them to the next snapshot. */
  #releaser(taken: Uint8Array[]): () => void {
    let released = false;
    return () => {
      if (released || this.mode !== "copy") return;
      released = true;
      for (const b of taken) {
        const same = this.#free.get(b.byteLength);
        if (same) same.push(b);
        else this.#free.set(b.byteLength, [b]);
      }
    };
  }

  /** Drops the kept buffers (GPU ones destroyed). */
  dispose(): void {
    for (const b of this.#gpu.values()) b.destroy();
    this.#gpu.clear();
    this.#host.clear();
    this.#free = new Map();
  }

  #hostBuffer(key: string, bytes: number): Uint8Array {
    if (this.mode === "pinned") {
      const kept = this.#host.get(key);
      if (kept && kept.byteLength === bytes) return kept;
    } else if (this.mode === "copy") {
      const reused = this.#free.get(bytes)?.pop();
      if (reused) {
        this.#taken.push(reused);
        return reused;
      }
    }
    const fresh = new Uint8Array(bytes);
    this.allocations++;
    if (this.mode === "pinned") this.#host.set(key, fresh);
    if (this.mode === "copy") this.#taken.push(fresh);
    return fresh;
  }

  /**
   * Queues the copies of WebGPU tensors into MAP_READ buffers (one command buffer per device, submitted now)
   * and returns, per device, how to read them back into host buffers once mapped.
   */
  #queueReadBacks(items: readonly [string, GpuStateTensor][]): {
    read(turns: EventLoopTurns | undefined, signal?: AbortSignal): Promise<[string, Tensor][]>;
  }[] {
    const byDevice = new Map<GPUDevice, [string, GpuStateTensor][]>();
    for (const it of items) byDevice.set(it[1].device, [...byDevice.get(it[1].device) ?? [], it]);
    return [...byDevice].map(([device, group]) => {
      const encoder = device.createCommandEncoder({ label: "webdcp checkpoint staging" });
      const staged = group.map(([fqn, t]) => {
        const { bytes, padded } = readBackSize(fqn, t);
        const buffer = this.#gpuBuffer(device, fqn, padded);
        if (padded > 0) encoder.copyBufferToBuffer(t.buffer, t.byteOffset, buffer, 0, padded);
        return { fqn, t, bytes, padded, buffer, data: this.#hostBuffer(fqn, bytes) };
      });
      device.queue.submit([encoder.finish()]);
      return {
        read: async (turns, signal) => {
          const mapped = staged.map((s) => s.buffer.mapAsync(GPUMapMode.READ, 0, Math.max(4, s.padded)));
          try {
            await Promise.all(mapped);
            const copies = staged.filter((s) => s.bytes > 0).map((s) => ({
              from: new Uint8Array(s.buffer.getMappedRange(0, s.padded), 0, s.bytes),
              into: s.data,
            }));
            if (turns) await copyBetweenTurns(copies, turns, signal);
            else for (const c of copies) c.into.set(c.from);
          } finally {
            // Every map settled (one that failed leaves the others mapped), then unmapped; a buffer that could
            // not be mapped is not kept.
            const outcomes = await Promise.allSettled(mapped);
            for (const [i, s] of staged.entries()) {
              if (s.buffer.mapState !== "unmapped") s.buffer.unmap();
              if (this.mode !== "pinned") s.buffer.destroy();
              else if (outcomes[i].status === "rejected") this.#dropGpu(s.fqn, s.buffer);
            }
          }
          return staged.map((s) => [s.fqn, { dtype: s.t.dtype, shape: [...s.t.shape], data: s.data }]);
        },
      };
    });
  }

  /** Forgets (and destroys) the kept readback buffer of `key` if it is `buffer`. */
  #dropGpu(key: string, buffer: GPUBuffer): void {
    if (this.#gpu.get(key) === buffer) this.#gpu.delete(key);
    buffer.destroy();
  }

  #gpuBuffer(device: GPUDevice, key: string, bytes: number): GPUBuffer {
    const size = Math.max(4, bytes);
    if (this.mode === "pinned") {
      const kept = this.#gpu.get(key);
      if (kept && kept.size === size) return kept;
      kept?.destroy();
    }
    const buffer = device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: `staging ${key}`,
    });
    this.allocations++;
    if (this.mode === "pinned") this.#gpu.set(key, buffer);
    return buffer;
  }
}

/** A WebGPU tensor's bytes, and the multiple of 4 bytes its copy into a MAP_READ buffer takes. */
function readBackSize(fqn: string, t: GpuStateTensor): { bytes: number; padded: number } {
  if (t.byteOffset % 4 !== 0) {
    throw new GpuError("E_GPU", `GPU tensor '${fqn}' starts at byte ${t.byteOffset}, not a multiple of 4`);
  }
  const bytes = byteSize(t.dtype, [...t.shape]);
  return { bytes, padded: Math.ceil(bytes / 4) * 4 };
}

/** Makes `copies` a slice at a time, letting the event loop turn every TURN_EVERY_MS. */
async function copyBetweenTurns(
  copies: readonly HostCopy[],
  turns: EventLoopTurns,
  signal?: AbortSignal,
): Promise<void> {
  for (const { from, into } of copies) {
    await bySlices(from.byteLength, turns, signal, (at, end) => into.set(from.subarray(at, end), at));
  }
}

/** `each` over [0, bytes) in SLICE_BYTES pieces, turning the event loop between them when `turns` says. */
async function bySlices(
  bytes: number,
  turns: EventLoopTurns,
  signal: AbortSignal | undefined,
  each: (at: number, end: number) => void,
): Promise<void> {
  for (let at = 0; at < bytes; at += SLICE_BYTES) {
    const turn = turns.maybeTurn();
    if (turn) {
      await turn;
      signal?.throwIfAborted();
    }
    each(at, Math.min(bytes, at + SLICE_BYTES));
  }
}
