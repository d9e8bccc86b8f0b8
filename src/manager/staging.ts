/**
 * Taking a snapshot of the state so the program can change it while the snapshot is written. `copy` (the
 * `async` mode) copies every host tensor and byte value into host memory that its write hands back when it
 * ends: the next snapshot reuses those buffers (by size) and drops the ones it did not need, as a caching
 * allocator would. Fresh memory costs page faults (the kernel zeroes every 4 KiB page on first touch) that
 * took ~3/4 of a 512 MiB snapshot's blocking time, so only the first save and a state that changed its
 * sizes pay them. `pinned` (`async_with_pinned_mem`) gives every tensor its own buffer, host and WebGPU
 * readback, kept for the manager's life, so a steady state allocates nothing. `reference` (synchronous
 * saves) keeps host data where it is. WebGPU tensors are read back in every mode: all copies of a save in
 * one command buffer (`copyBufferToBuffer` into MAP_READ buffers), then mapped.
 */
import { byteSize, isTensor } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { StateLeaf } from "../dcp/mod.ts";
import { GpuError } from "../errors/mod.ts";
import { GpuStateTensor } from "./states.ts";

export type StagingMode = "reference" | "copy" | "pinned";

/** A staged state: its leaves, and `release()` to call once they are written (their buffers may be reused). */
export interface Snapshot {
  entries: Map<string, StateLeaf>;
  release(): void;
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

  constructor(readonly mode: StagingMode) {}

  /** The snapshot of `entries` (FQN -> leaf); host tensors in `reference` mode are the caller's own. */
  async stage(entries: ReadonlyMap<string, unknown>, signal?: AbortSignal): Promise<Snapshot> {
    this.#taken = [];
    try {
      const staged = await this.#stage(entries, signal);
      const taken = this.#taken;
      let released = false;
      return {
        entries: staged,
        release: () => {
          if (released || this.mode !== "copy") return;
          released = true;
          for (const b of taken) {
            const same = this.#free.get(b.byteLength);
            if (same) same.push(b);
            else this.#free.set(b.byteLength, [b]);
          }
        },
      };
    } finally {
      // What the snapshot did not take is memory no save needs now.
      this.#free = new Map();
    }
  }

  async #stage(entries: ReadonlyMap<string, unknown>, signal?: AbortSignal): Promise<Map<string, StateLeaf>> {
    const out = new Map<string, StateLeaf>();
    const gpu: [string, GpuStateTensor][] = [];
    for (const [fqn, leaf] of entries) {
      signal?.throwIfAborted();
      if (leaf instanceof GpuStateTensor) {
        gpu.push([fqn, leaf]);
        out.set(fqn, null); // keeps the flattening order; filled below
      } else if (isTensor(leaf)) {
        out.set(
          fqn,
          this.mode === "reference"
            ? leaf
            : { dtype: leaf.dtype, shape: [...leaf.shape], data: this.#copy(fqn, leaf.data) },
        );
      } else if (leaf instanceof Uint8Array && this.mode !== "reference") {
        out.set(fqn, this.#copy(fqn, leaf));
      } else {
        out.set(fqn, leaf as StateLeaf);
      }
    }
    for (const [fqn, t] of await this.#readBack(gpu)) out.set(fqn, t);
    return out;
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

  #copy(key: string, data: Uint8Array): Uint8Array {
    const into = this.#hostBuffer(key, data.byteLength);
    into.set(data);
    return into;
  }

  async #readBack(items: readonly [string, GpuStateTensor][]): Promise<[string, Tensor][]> {
    if (items.length === 0) return [];
    const byDevice = new Map<GPUDevice, [string, GpuStateTensor][]>();
    for (const it of items) byDevice.set(it[1].device, [...byDevice.get(it[1].device) ?? [], it]);
    const out: [string, Tensor][] = [];
    for (const [device, group] of byDevice) {
      const encoder = device.createCommandEncoder({ label: "webdcp checkpoint staging" });
      const staged = group.map(([fqn, t]) => {
        const bytes = byteSize(t.dtype, [...t.shape]);
        if (t.byteOffset % 4 !== 0) {
          throw new GpuError("E_GPU", `GPU tensor '${fqn}' starts at byte ${t.byteOffset}, not a multiple of 4`);
        }
        const padded = Math.ceil(bytes / 4) * 4;
        const buffer = this.#gpuBuffer(device, fqn, padded);
        if (padded > 0) encoder.copyBufferToBuffer(t.buffer, t.byteOffset, buffer, 0, padded);
        return { fqn, t, bytes, padded, buffer };
      });
      device.queue.submit([encoder.finish()]);
      await Promise.all(staged.map((s) => s.buffer.mapAsync(GPUMapMode.READ, 0, Math.max(4, s.padded))));
      for (const s of staged) {
        const data = this.#hostBuffer(s.fqn, s.bytes);
        if (s.bytes > 0) data.set(new Uint8Array(s.buffer.getMappedRange(0, s.padded), 0, s.bytes));
        s.buffer.unmap();
        if (this.mode !== "pinned") s.buffer.destroy();
        out.push([s.fqn, { dtype: s.t.dtype, shape: [...s.t.shape], data }]);
      }
    }
    return out;
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
