/**
 * Local files through `node:fs` (Deno and Node): `FileStorage`, its streaming sink with background flushes,
 * and the kernel-copy path (`copy_file_range` via Deno FFI) for bytes that only move.
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
