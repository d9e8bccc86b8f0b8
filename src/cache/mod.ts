/**
 * A checkpoint cache in the browser's Origin Private File System: `preload` copies a checkpoint (any format,
 * from HTTP, S3 or any storage) byte for byte, resumably and verified, and commits it atomically; a loader
 * given the cache (`loadToGpu`'s `cache` option) then reads the copy and sends no request. Entries are keyed
 * by where the checkpoint came from; `Sha256` is the streamed digest the records keep.
 *
 * @example
 * ```ts
 * import { OpfsCache, preload, Sha256 } from "./mod.ts";
 * import { saveStateDict } from "../dcp/mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * // The digest fed in pieces equals SHA-256("abc").
 * const bytes = new TextEncoder().encode("abc");
 * const digest = new Sha256().update(bytes.subarray(0, 1)).update(bytes.subarray(1)).hex();
 * if (digest !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error("SHA-256");
 *
 * // An entry's key names where the checkpoint came from: the same location gives the same key.
 * const storage = new MemoryStorage();
 * const key = OpfsCache.keyOf({ storage, path: "step-1" });
 * if (key !== OpfsCache.keyOf({ storage, path: "./step-1/" }) || !/^[0-9a-f]{32}$/.test(key)) {
 *   throw new Error("one key per location");
 * }
 *
 * if (typeof navigator.storage?.getDirectory === "function") { // OPFS: browsers only
 *   await saveStateDict(storage, "step-1", { w: makeTensor("float32", [4, 2]) });
 *   const cache = await OpfsCache.open();
 *   const report = await preload({ storage, path: "step-1" }, { cache });
 *   if (report.key !== key || (await cache.entry({ storage, path: "step-1" })) === undefined) {
 *     throw new Error("the entry should be committed");
 *   }
 * }
 * ```
 * @module
 */
export { type CachedFile, type CacheRecord, OpfsCache } from "./opfs_cache.ts";
export { preload, type PreloadOptions, type PreloadPlan, type PreloadReport } from "./preload.ts";
export { Sha256 } from "./sha256.ts";
