/**
 * Saving a nested state dict as if `ranks` processes had each held a DTensor `Shard(shardDim)` of every
 * tensor: the checkpoint PyTorch would write for that layout, ready to load with any other sharding.
 */
import { itemsize } from "../dtype/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import type { Storage } from "../storage/mod.ts";
import type { Box, Tensor } from "../tensor/mod.ts";
import { boxNumel, copyBox, isTensor, wholeBox } from "../tensor/mod.ts";
import type { StateDict } from "./flatten.ts";
import { flattenStateDict } from "./flatten.ts";
import type { DcpMetadata } from "./metadata.ts";
import type { WriteDcpOptions } from "./write.ts";
import { writeDcp } from "./write.ts";
import type { DcpWriteItem } from "./write_plan.ts";

/** Options of `saveStateDict`. */
export interface SaveStateDictOptions extends WriteDcpOptions {
  /** Number of simulated ranks (default 1). */
  ranks?: number;
  /** Dimension each tensor is split along (default 0); tensors with fewer dims are replicated. */
  shardDim?: number;
}

/** Saves a nested state dict as `ranks` processes would have saved it, each tensor split on `shardDim`. */
export async function saveStateDict(
  storage: Storage,
  dir: string,
  stateDict: StateDict,
  opts: SaveStateDictOptions = {},
): Promise<DcpMetadata> {
  const ranks = opts.ranks ?? 1;
  const shardDim = opts.shardDim ?? 0;
  if (!Number.isSafeInteger(ranks) || ranks < 1) throw new UsageError("E_USAGE", `ranks must be >= 1, got ${ranks}`);
  if (!Number.isSafeInteger(shardDim) || shardDim < 0) {
    throw new UsageError("E_USAGE", `shardDim must be >= 0, got ${shardDim}`);
  }
  const { entries, plannerData } = flattenStateDict(stateDict);
  const perRank: DcpWriteItem[][] = Array.from({ length: ranks }, () => []);
  for (const [fqn, leaf] of entries) {
    for (let r = 0; r < ranks; r++) {
      if (!isTensor(leaf)) {
        perRank[r].push({ fqn, value: leaf as PyValue });
        continue;
      }
      // Tensors that cannot be split along shardDim (0-d included) are replicated; dedup keeps one copy.
      const box = leaf.shape.length > shardDim ? shardBox(leaf.shape, shardDim, ranks, r) : wholeBox(leaf.shape);
      perRank[r].push({
        fqn,
        dtype: leaf.dtype,
        globalShape: [...leaf.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: () => Promise.resolve(extractBox(leaf, box)),
      });
    }
  }
  return await writeDcp(storage, dir, { ranks: perRank, plannerData }, opts);
}

/**
 * Rank `rank`'s piece of a tensor split into `ranks` pieces along `dim`, as DTensor `Shard(dim)` computes
 * it (`torch.chunk` sizes: ceil-div, trailing ranks may get zero rows, their offset clamped to the end).
 */
export function shardBox(shape: readonly number[], dim: number, ranks: number, rank: number): Box {
  const n = shape[dim];
  const full = Math.ceil(n / ranks);
  const start = Math.min(n, full * rank);
  const end = Math.min(n, full * rank + full);
  const offsets = shape.map(() => 0);
  const sizes = [...shape];
  offsets[dim] = start;
  sizes[dim] = Math.max(0, end - start);
  return { offsets, sizes };
}

function extractBox(t: Tensor, box: Box): Uint8Array {
  const whole = wholeBox(t.shape);
  if (box.sizes.every((s, d) => s === whole.sizes[d])) return t.data;
  const isz = itemsize(t.dtype);
  const out = new Uint8Array(boxNumel(box) * isz);
  copyBox(t.data, whole, out, box, box, isz);
  return out;
}
