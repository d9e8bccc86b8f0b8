import type { Storage } from "../storage/mod.ts";
import { joinPath, writeFile } from "../storage/mod.ts";
import type { SafetensorsIndex } from "./index_file.ts";
import { SAFETENSORS_INDEX_NAME, writeSafetensorsIndex } from "./index_file.ts";
import { DEFAULT_MAX_SHARD_BYTES, planShards } from "./shards.ts";
import type { SafetensorsEntry } from "./write.ts";
import { writeSafetensors } from "./write.ts";

/** Options of `writeSafetensorsFolder`. */
export interface WriteSafetensorsFolderOptions {
  /** Shard limit in bytes (default 5 GB, as transformers). */
  maxShardBytes?: number;
  /** `__metadata__` of every shard file (transformers writes `{ format: "pt" }`). */
  metadata?: Record<string, string>;
}

/**
 * Writes entries as `save_pretrained` lays them out: one `model.safetensors`, or shards planned by
 * `planShards` plus `model.safetensors.index.json` (written last, so a reader never sees an index naming
 * files that do not exist yet). Files stream one tensor at a time. Returns the storage paths written.
 */
export async function writeSafetensorsFolder(
  storage: Storage,
  dir: string,
  entries: readonly SafetensorsEntry[],
  options: WriteSafetensorsFolderOptions = {},
): Promise<{ files: string[]; index?: SafetensorsIndex }> {
  const plan = planShards(entries, options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  const files: string[] = [];
  for (const shard of plan.shards) {
    const path = joinPath(dir, shard.file);
    await writeFile(storage, path, (sink) => writeSafetensors(sink, shard.entries, options.metadata));
    files.push(path);
  }
  if (plan.shards.length <= 1) return { files };
  const index: SafetensorsIndex = {
    metadata: { total_size: plan.totalSize },
    weightMap: new Map(plan.shards.flatMap((s) => s.entries.map((e) => [e.name, s.file] as const))),
  };
  const indexPath = joinPath(dir, SAFETENSORS_INDEX_NAME);
  await writeSafetensorsIndex(storage, indexPath, index);
  files.push(indexPath);
  return { files, index };
}
