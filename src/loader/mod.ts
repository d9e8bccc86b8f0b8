/**
 * Loading checkpoints into WebGPU buffers (`loadToGpu`): any `TensorSource` streamed band by band, cast on the
 * GPU, with bounded host memory.
 *
 * @example
 * ```ts
 * import { loadToGpu } from "./mod.ts";
 * import { openTensorSource } from "../source/mod.ts";
 * import { saveStateDict } from "../dcp/mod.ts";
 * import { createEngine } from "../engine/mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const storage = new MemoryStorage();
 * await saveStateDict(storage, "ckpt", { w: makeTensor("float32", [4, 4]) });
 * const engine = await createEngine({ kind: "auto" });
 * try {
 *   // Where a hardware GPU is (an "auto" engine falls back to the CPU elsewhere, and then this does nothing).
 *   if (engine.kind === "gpu") {
 *     const tensors = await loadToGpu(await openTensorSource(storage, "ckpt"), { engine, dtype: "bfloat16" });
 *     if (tensors.get("w")?.byteLength !== 32) throw new Error("16 bfloat16 elements");
 *   }
 * } finally {
 *   engine.dispose();
 * }
 * ```
 * @module
 */
export { type GpuTensor, loadToGpu, type LoadToGpuOptions } from "./load_to_gpu.ts";
