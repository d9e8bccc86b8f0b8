/**
 * webdcp for browsers (`webdcp/browser`, and the `browser` condition of `webdcp`): everything `mod.ts` exports
 * except `FileStorage`, whose local files need `node:fs`. No module reachable from here imports a Node
 * built-in, so a page or a bundler takes it as is; pages read and write through `HttpStorage`, `OpfsStorage`
 * and `MemoryStorage`. test/package/entries.test.ts checks that this list is mod.ts's less exactly that.
 */
export * from "./src/errors/mod.ts";
export * from "./src/limits/mod.ts";
export * from "./src/dtype/mod.ts";
export * from "./src/tensor/mod.ts";
export * from "./src/storage/mod.ts";
export * from "./src/pickle/mod.ts";
export * from "./src/zip/mod.ts";
export * from "./src/torch/mod.ts";
export * from "./src/safetensors/mod.ts";
export * from "./src/dcp/mod.ts";
export * from "./src/engine/mod.ts";
export * from "./src/adapters/mod.ts";
export * from "./src/source/mod.ts";
export * from "./src/jobs/mod.ts";
export type { Part } from "./src/writers/mod.ts";
export { parseByteSize } from "./src/cli/byte_size.ts";
export type { JobProgress, ProgressCallback } from "./src/tasks/mod.ts";
export * from "./src/loader/mod.ts";
export * from "./src/manager/mod.ts";
export * from "./src/cache/mod.ts";
