/**
 * An in-memory storage (`MemoryStorage`): tests, browsers without OPFS, and small jobs.
 * @module
 */
export { MemoryStorage } from "./memory_storage.ts";
export { MemorySink } from "./memory_sink.ts";
