/**
 * An in-memory storage (`MemoryStorage`): tests, browsers without OPFS, and small jobs.
 * @example
 * ```ts
 * import { MemorySink, MemoryStorage } from "./mod.ts";
 *
 * let published: Uint8Array | undefined;
 * const sink = new MemorySink("a.bin", (bytes) => published = bytes);
 * await sink.write(Uint8Array.of(1, 2));
 * await sink.close();
 * if (published?.length !== 2) throw new Error("closing publishes the bytes");
 * if (await new MemoryStorage().stat("a.bin") !== undefined) throw new Error("a fresh storage is empty");
 * ```
 * @module
 */
export { MemoryStorage } from "./memory_storage.ts";
export { MemorySink } from "./memory_sink.ts";
