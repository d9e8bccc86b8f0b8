/**
 * The conversion engines: WebGPU kernels (shaders/*.wgsl) and their bit-identical CPU twin, for casts, region
 * copies and row gathers; `createEngine` picks the GPU when there is a hardware one.
 *
 * `auto` takes a hardware adapter only (a software one, such as llvmpipe or SwiftShader, is slower than the CPU
 * twin); `gpu` takes any adapter. `shaders/*.wgsl` are the source of the kernels; `scripts/embed-shaders.ts`
 * regenerates `src/engine/gpu/shaders.generated.ts` (a test fails when they drift).
 *
 * @example
 * ```ts
 * import { convertCpu } from "./mod.ts";
 *
 * const f32 = new Uint8Array(new Float32Array([1, 0.5]).buffer);
 * const bf16 = convertCpu(f32, "float32", "bfloat16");
 * if ([...new Uint16Array(bf16.buffer)].join() !== "16256,16128") throw new Error("bfloat16 bits of 1 and 0.5");
 * ```
 * @module
 */
export {
  createCpuEngine,
  createEngine,
  createLazyEngine,
  type Engine,
  type EngineKind,
  type EngineOptions,
  GpuEngine,
  parseEngineKind,
} from "./engine.ts";
export { convertCpu } from "./cpu/convert.ts";
export { copyRegionCpu, type RegionCopy } from "./cpu/region_copy.ts";
export { gatherRowsCpu, type RowGather } from "./cpu/row_gather.ts";
export { acquireGpu, type AcquireOptions, type GpuContext, isSoftwareAdapter } from "./gpu/device.ts";
export type { GpuLimits } from "./gpu/planner.ts";
