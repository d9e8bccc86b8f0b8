/**
 * Bytes in files: the `Storage` interface (paths relative to a root, `/`-separated), byte sources and
 * sinks, stored ranges a sink may copy without reading, and the backends (`file/`, `http/`, `memory/`,
 * `opfs/`). A sink publishes nothing under its final name before `close()`.
 *
 * `normalizePath` refuses absolute paths, `..` escapes, NUL and backslashes (E_PATH_ESCAPE). A producer
 * hands bytes that only move as `StoredRange { source, offset, length, record? }` pieces of a `ByteStream`;
 * a sink with `copyFrom` (see `Storage.canCopyFrom`) appends them without this process reading them.
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
