export {
  type GpuLoad,
  type GpuTensor,
  type GpuTensorPart,
  type LoadStats,
  loadToGpu,
  type LoadToGpuOptions,
} from "./load_to_gpu.ts";
export type { LoadPlan } from "./load_plan.ts";
export { type LoadInput, locateUrl } from "./open_input.ts";
