/**
 * Local files through `node:fs` (Deno and Node): `FileStorage`, its streaming sink with background flushes,
 * and the kernel-copy path (`copy_file_range` via Deno FFI) for bytes that only move.
 * @module
 */
export { FileStorage, type FileStorageOptions } from "./file_storage.ts";
