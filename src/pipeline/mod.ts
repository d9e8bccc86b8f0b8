/**
 * The band pipeline of convert's writers: target tensors (cast, renamed) planned from a selection, read in
 * row bands, cast on the engine and handed to a writer, three bands in flight at once.
 * @module
 */
export { type BandJob, type BandOutput, BandPipeline, type BandPipelineOptions, regionJobs } from "./band_pipeline.ts";
export { DEFAULT_BAND_BYTES, readOrderKey, rowBands, sortByStorage } from "./bands.ts";
export { castDType, planTargets, readTargetBox, type TargetOptions, type TargetTensor } from "./targets.ts";
