export { type GpuTensor, loadToGpu, type LoadToGpuOptions } from "./load_to_gpu.ts";
