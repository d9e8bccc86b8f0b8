/**
 * The browser's Origin Private File System as a storage (`OpfsStorage`).
 * @example
 * ```ts
 * import { OpfsStorage } from "./mod.ts";
 *
 * // In a browser page (elsewhere there is no origin private file system, and this does nothing).
 * const storage = (globalThis.navigator as Navigator | undefined)?.storage;
 * if (typeof storage?.getDirectory === "function") {
 *   const opfs = new OpfsStorage(await storage.getDirectory());
 *   await opfs.writeAll("webdcp-example/a.bin", Uint8Array.of(1));
 *   await opfs.remove("webdcp-example", { recursive: true });
 * }
 * ```
 * @module
 */
export { OpfsStorage } from "./opfs_storage.ts";
export { opfsError } from "./opfs_errors.ts";
