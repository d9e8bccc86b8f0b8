export type {
  ByteSink,
  ByteSource,
  ByteStream,
  ChecksummedRecord,
  DirEntry,
  FileInfo,
  Storage,
  StoredRange,
} from "./storage.ts";
export { basename, dirname, joinPath, normalizePath } from "./path.ts";
export { cacheEnds, MAX_READ_BYTES, memorySource, readSourceInto, sliceSource, sourceOrigin } from "./byte_source.ts";
export { FileStorage, type FileStorageOptions } from "./file_storage.ts";
export { MemoryStorage } from "./memory_storage.ts";
export { HttpStorage, type HttpStorageOptions } from "./http_storage.ts";
export { OpfsStorage } from "./opfs_storage.ts";
export { writeFile } from "./write_file.ts";
export { DEFAULT_MAX_GAP, isRangeReader, planRanges, type RangePlanOptions, type RangeReader, type RangeRequest, type WantedRange } from "./range_plan.ts";
export { PrefetchStorage } from "./prefetch_storage.ts";
