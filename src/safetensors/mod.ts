/**
 * safetensors files and HuggingFace folders: header reader (every guard one line and one error), box reads,
 * writer laid out as the reference writes, shard plans and `model.safetensors.index.json`.
 *
 * @example
 * ```ts
 * import { readSafetensorsHeader, writeSafetensors } from "./mod.ts";
 * import { MemorySink, memorySource } from "../storage/mod.ts";
 *
 * const sink = new MemorySink("m.safetensors");
 * await writeSafetensors(sink, [{ name: "w", dtype: "bfloat16", shape: [2], data: new Uint8Array(4) }]);
 * const header = await readSafetensorsHeader(memorySource(sink.bytes(), "m.safetensors"));
 * if (header.tensors.get("w")?.dtype !== "bfloat16") throw new Error("the header names the tensor");
 * ```
 * @module
 */
export type { SafetensorsHeader, SafetensorsTensorInfo } from "./header.ts";
export { MAX_HEADER_BYTES, readSafetensorsHeader } from "./header.ts";
export { locateSafetensorsTensor, readSafetensorsTensor } from "./read_tensor.ts";
export type { SafetensorsEntry } from "./write.ts";
export { writeSafetensors } from "./write.ts";
export type { ShardableEntry, ShardPlan } from "./shards.ts";
export { DEFAULT_MAX_SHARD_BYTES, planShards, shardFileName, SINGLE_FILE_NAME } from "./shards.ts";
export type { SafetensorsIndex } from "./index_file.ts";
export { readSafetensorsIndex, SAFETENSORS_INDEX_NAME, writeSafetensorsIndex } from "./index_file.ts";
export type { FolderTensorInfo, SafetensorsFolder } from "./folder.ts";
export { openSafetensorsFolder } from "./folder.ts";
export type { WriteSafetensorsFolderOptions } from "./write_folder.ts";
export { writeSafetensorsFolder } from "./write_folder.ts";
export { compareCodePoints, referenceDtypeRank } from "./order.ts";
