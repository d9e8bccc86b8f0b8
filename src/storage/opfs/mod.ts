/**
 * The browser's Origin Private File System as a storage (`OpfsStorage`).
 * @module
 */
export { OpfsStorage } from "./opfs_storage.ts";
export { opfsError } from "./opfs_errors.ts";
