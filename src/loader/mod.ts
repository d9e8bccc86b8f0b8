/**
 * Loading checkpoints into WebGPU buffers (`loadToGpu`): a URL, a storage location or an open `TensorSource`,
 * planned before the first data byte moves, fetched in coalesced ranges through a few reused staging
 * buffers, cast on the GPU or by the CPU twin, and uploaded to the caller's device.
 *
 * @example
 * ```ts
 * import { loadToGpu } from "./mod.ts";
 * import { saveStateDict } from "../dcp/mod.ts";
 * import { createEngine } from "../engine/mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const storage = new MemoryStorage();
 * await saveStateDict(storage, "ckpt", { w: makeTensor("float32", [4, 4]) });
 * const engine = await createEngine({ kind: "auto" });
 * try {
 *   // Where a GPU is (an "auto" engine falls back to the CPU elsewhere, and then this does nothing).
 *   if (engine.kind === "gpu") {
 *     const load = await loadToGpu({ storage, path: "ckpt" }, { engine, dtype: "bfloat16" });
 *     if (load.tensors.get("w")?.shape[0] !== 4) throw new Error("expected 4 rows");
 *     load.destroy();
 *   }
 * } finally {
 *   engine.dispose();
 * }
 * ```
 * @module
 */
export {
  type GpuLoad,
  type GpuTensor,
  type GpuTensorPart,
  type LoadStats,
  loadToGpu,
  type LoadToGpuOptions,
} from "./load_to_gpu.ts";
export type { LoadPlan } from "./load_plan.ts";
export {
  isTensorSource,
  type LoadInput,
  locateUrl,
  type OpenedInput,
  openInput,
  type OpenInputOptions,
} from "./open_input.ts";
