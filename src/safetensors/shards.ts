import type { DType } from "../dtype/mod.ts";
import { UsageError } from "../errors/mod.ts";
import { byteSize } from "../tensor/mod.ts";

/** What planning needs to know of a tensor. */
export interface ShardableEntry {
  /** The tensor's name. */
  name: string;
  /** Its dtype. */
  dtype: DType;
  /** Its shape. */
  shape: readonly number[];
}

/** Tensors grouped into shard files. */
export interface ShardPlan<T extends ShardableEntry> {
  /** Shards in file order; `file` is `model.safetensors` alone, else `model-0000i-of-0000n.safetensors`. */
  shards: { file: string; entries: T[]; bytes: number }[];
  /** Sum of all tensor data bytes (the index's `metadata.total_size`). */
  totalSize: number;
}

/** The default shard limit of `huggingface_hub` / transformers (`"5GB"`, decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/**
 * Splits entries into shards the way `huggingface_hub.split_torch_state_dict_into_shards` does: greedily
 * in the given order, opening a new shard when the next tensor would push the current one past the
 * limit. A tensor bigger than the limit gets a shard of its own, placed where it was met (before the
 * shard still being filled).
 */
export function planShards<T extends ShardableEntry>(entries: readonly T[], maxShardBytes: number): ShardPlan<T> {
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new UsageError("E_USAGE", `maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  const groups: { entries: T[]; bytes: number }[] = [];
  let current: { entries: T[]; bytes: number } = { entries: [], bytes: 0 };
  let totalSize = 0;
  for (const e of entries) {
    const size = byteSize(e.dtype, e.shape);
    totalSize += size;
    if (size > maxShardBytes) {
      groups.push({ entries: [e], bytes: size });
      continue;
    }
    if (current.bytes + size > maxShardBytes) {
      groups.push(current);
      current = { entries: [], bytes: 0 };
    }
    current.entries.push(e);
    current.bytes += size;
  }
  if (current.entries.length > 0) groups.push(current);
  const n = groups.length;
  return {
    shards: groups.map((g, i) => ({ file: shardFileName(i, n), ...g })),
    totalSize,
  };
}

/** The file name of an unsharded HF safetensors folder. */
export const SINGLE_FILE_NAME = "model.safetensors";

/** HF file name of shard `index` (0-based) of `count`. */
export function shardFileName(index: number, count: number): string {
  if (count === 1) return SINGLE_FILE_NAME;
  const five = (k: number) => String(k).padStart(5, "0");
  return `model-${five(index + 1)}-of-${five(count)}.safetensors`;
}
