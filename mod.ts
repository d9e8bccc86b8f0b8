/**
 * webdcp: read, write, reshard and convert PyTorch Distributed Checkpoints, torch.save files and
 * safetensors in TypeScript (Deno, browsers, Node). This file only re-exports the public surface.
 */
export * from "./src/errors/mod.ts";
export * from "./src/limits/mod.ts";
export * from "./src/dtype/mod.ts";
export * from "./src/tensor/mod.ts";
export * from "./src/storage/mod.ts";
export { FileStorage, type FileStorageOptions } from "./src/storage/file/mod.ts";
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
// The manager that opens paths as files; browser.ts keeps the portable one of the same name.
export { CheckpointManager } from "./src/manager/host_manager.ts";
export * from "./src/cache/mod.ts";
