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
