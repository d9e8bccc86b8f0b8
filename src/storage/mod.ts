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
export { writeFile } from "./write_file.ts";
export * from "./file/mod.ts";
export * from "./http/mod.ts";
export * from "./memory/mod.ts";
export * from "./opfs/mod.ts";
