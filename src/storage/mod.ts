/**
 * Bytes in files: the `Storage` interface (paths relative to a root, `/`-separated), byte sources and
 * sinks, stored ranges a sink may copy without reading, and the backends (`file/`, `http/`, `memory/`,
 * `opfs/`). A sink publishes nothing under its final name before `close()`.
 *
 * `normalizePath` refuses absolute paths, `..` escapes, NUL and backslashes (E_PATH_ESCAPE). A producer
 * hands bytes that only move as `StoredRange { source, offset, length, record? }` pieces of a `ByteStream`;
 * a sink with `copyFrom` (see `Storage.canCopyFrom`) appends them without this process reading them. Bytes
 * made from stored ones by work that reads and writes by descriptor (a cast on a worker thread) are
 * `MadeRange` pieces, which a sink with `makeFrom` hands its descriptors to.
 * `readSourceInto` reads into the caller's buffer so hot paths reuse memory.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./mod.ts";
 *
 * const storage = new MemoryStorage();
 * await storage.writeAll("ckpt/a.bin", Uint8Array.of(1, 2, 3));
 * const source = await storage.open("ckpt/a.bin");
 * const middle = await source.read(1, 2);
 * await source.close();
 * if (middle.join() !== "2,3") throw new Error("reads are exact ranges");
 * ```
 * @module
 */
export type {
  BytePiece,
  ByteSink,
  ByteSource,
  ByteStream,
  ChecksummedRecord,
  ChunkSink,
  DescriptorIo,
  DirEntry,
  FileInfo,
  MadeRange,
  Storage,
  StoredRange,
} from "./storage.ts";
export { basename, dirname, joinPath, normalizePath, pathFromFile } from "./path.ts";
export {
  cacheEnds,
  checkReadRange,
  endsOf,
  MAX_READ_BYTES,
  memorySource,
  readSourceInto,
  sliceSource,
  sourceOrigin,
  streamSource,
} from "./byte_source.ts";
export { appendMadeRange, appendStoredRange, isStoredRange, pieceLength, readStoredRange } from "./stored_range.ts";
// The file backend (./file/mod.ts) is left out on purpose: every layer imports this file and the file backend
// loads node:fs, so FileStorage is exported by the host entry mod.ts only, which keeps browser.ts free of Node.
export { writeFile } from "./write_file.ts";
export * from "./http/mod.ts";
export * from "./memory/mod.ts";
export * from "./opfs/mod.ts";
export { readAllWithin } from "./read_within.ts";
export {
  DEFAULT_MAX_GAP,
  isRangeReader,
  planRanges,
  type RangePlanOptions,
  type RangeReader,
  type RangeRequest,
  REMOTE_REQUESTS_IN_FLIGHT,
  type WantedRange,
} from "./range_plan.ts";
export { PrefetchStorage } from "./prefetch_storage.ts";
export { parseS3Url, S3Error, S3Storage } from "./s3/mod.ts";
export type { S3Credentials, S3RetryOptions, S3StorageOptions } from "./s3/mod.ts";
