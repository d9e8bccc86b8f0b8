/**
 * The band pipeline of convert's writers: target tensors (cast, renamed) planned from a selection, read in
 * row bands, cast on the engine and handed to a writer, three bands in flight at once.
 *
 * While band i is written, band i+1 is cast and band i+2 read, with no copy of any band. A region that only
 * moves bytes (same dtype, no row permutation) whose source can say where they are stored
 * (`TensorSource.locate`) is planned as stored ranges instead, for a sink that copies them.
 *
 * @example
 * ```ts
 * import { rowBands } from "./mod.ts";
 *
 * // 1000 rows of 4 KiB in bands of at most 1 MiB: whole rows, 256 to a band.
 * const bands = rowBands({ offsets: [0, 0], sizes: [1000, 1024] }, 4, 1 << 20);
 * if (bands.map((b) => b.sizes[0]).join() !== "256,256,256,232") throw new Error(JSON.stringify(bands));
 * ```
 * @module
 */
export { type BandJob, type BandOutput, BandPipeline, type BandPipelineOptions, regionJobs } from "./band_pipeline.ts";
export { DescriptorCaster } from "./descriptor_cast.ts";
export { JobPlanner } from "./job_planner.ts";
export { DEFAULT_BAND_BYTES, readOrderKey, rowBands, sortByStorage } from "./bands.ts";
export { castDType, planTargets, readTargetBox, type TargetOptions, type TargetTensor } from "./targets.ts";
