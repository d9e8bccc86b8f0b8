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
export { appendStoredRange, isStoredRange, readStoredRange } from "./stored_range.ts";
// The file backend (./file/mod.ts) is left out on purpose: every layer imports this file and the file backend
// loads node:fs, so FileStorage is exported by the host entry mod.ts only, which keeps browser.ts free of Node.
export { writeFile } from "./write_file.ts";
export * from "./http/mod.ts";
export * from "./memory/mod.ts";
export * from "./opfs/mod.ts";
export { readAllWithin } from "./read_within.ts";
export { isRangeReader, planRanges, type RangeReader, type RangeRequest, type WantedRange } from "./range_plan.ts";
export { PrefetchStorage } from "./prefetch_storage.ts";
export { parseS3Url, S3Error, S3Storage } from "./s3/mod.ts";
export type { S3Credentials, S3RetryOptions, S3StorageOptions } from "./s3/mod.ts";
