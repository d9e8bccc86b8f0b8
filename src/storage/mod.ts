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
// FileStorage (file_storage.ts) is left out on purpose: every layer imports this file, and the file backend
// loads node:fs, so it is exported by the host entry mod.ts only, which keeps browser.ts free of Node.
export { MemoryStorage } from "./memory_storage.ts";
export { HttpStorage, type HttpStorageOptions } from "./http_storage.ts";
export { OpfsStorage } from "./opfs_storage.ts";
export { writeFile } from "./write_file.ts";
