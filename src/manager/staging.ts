/**
 * Taking a snapshot of the state so the program can change it while the snapshot is written. `copy` (the
 * `async` mode) copies every host tensor and byte value into fresh memory; `pinned`
 * (`async_with_pinned_mem`) copies into buffers kept from the previous save, so a steady state allocates
 * nothing; `reference` (synchronous saves) keeps host data where it is. WebGPU tensors are read back in every
 * mode: all copies of a save in one command buffer (`copyBufferToBuffer` into MAP_READ buffers), then mapped.
 */
import { byteSize, isTensor } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { StateLeaf } from "../dcp/mod.ts";
import { GpuError } from "../errors/mod.ts";
import { GpuStateTensor } from "./states.ts";

export type StagingMode = "reference" | "copy" | "pinned";

export class Stager {
  /** Buffers this stager has allocated so far (host and GPU); constant across steady-state pinned saves. */
  allocations = 0;
  readonly #host = new Map<string, Uint8Array>();
  readonly #gpu = new Map<string, GPUBuffer>();

  constructor(readonly mode: StagingMode) {}

  /** The snapshot of `entries` (FQN -> leaf); host tensors in `reference` mode are the caller's own. */
  async stage(entries: ReadonlyMap<string, unknown>, signal?: AbortSignal): Promise<Map<string, StateLeaf>> {
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
  }

  #hostBuffer(key: string, bytes: number): Uint8Array {
    if (this.mode === "pinned") {
      const kept = this.#host.get(key);
      if (kept && kept.byteLength === bytes) return kept;
    }
    const fresh = new Uint8Array(bytes);
    this.allocations++;
    if (this.mode === "pinned") this.#host.set(key, fresh);
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
