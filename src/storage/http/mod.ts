/**
 * Read-only storage over HTTP range requests (`HttpStorage`), with an injectable `fetch`.
 * @module
 */
export { HttpStorage, type HttpStorageOptions } from "./http_storage.ts";
export { discardBody, parseContentRange, readBodyInto } from "./http_range.ts";
