export { type CachedFile, type CacheRecord, OpfsCache } from "./opfs_cache.ts";
export { preload, type PreloadOptions, type PreloadPlan, type PreloadReport } from "./preload.ts";
