/**
 * Local files through the runtime's own file API (Deno's namespace under Deno, `node:fs` under Node):
 * `FileStorage`, its streaming sink with background flushes, and the kernel-copy path (`copy_file_range` via
 * Deno FFI) for bytes that only move.
 *
 * `create()` writes `<name>.tmp-<rand>` and renames on `close()` (fsynced first unless `fsync: false`,
 * `--no-fsync`); `abort()` removes the temp file. Large writes go straight from the caller's buffer, writes of
 * at most 64 KiB are gathered into one, and every 64 MiB (`flushBytes`) the file so far is flushed to the
 * device in the background, so a multi-GB output is not written back all at once while `close()` waits.
 * Under Deno (FFI, Linux) `copyFrom` appends bytes of another file with `copy_file_range`, a few copies at
 * once per sink; what the kernel refuses (EXDEV across file systems) is finished through a buffer.
 *
 * @example
 * ```ts
 * import { FileStorage } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const files = new FileStorage(dir);
 * await files.writeAll("step-1/a.bin", Uint8Array.of(7));
 * if ((await files.stat("step-1/a.bin"))?.size !== 1) throw new Error("written");
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export { FileStorage, type FileStorageOptions } from "./file_storage.ts";
// For the command line, which turns the paths a user typed into FileStorage roots.
export { localFs } from "./local_fs.ts";
export { hostBasename, hostDirname, resolveHostPath } from "./host_path.ts";
