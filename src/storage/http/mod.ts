/**
 * Read-only storage over HTTP range requests (`HttpStorage`), with an injectable `fetch`.
 * @module
 */
export { HttpStorage, type HttpStorageOptions } from "./http_storage.ts";
