/**
 * The global save plan: what each rank writes, deduplicated and checked the way PyTorch's coordinator
 * does (`dedup_save_plans`, `create_global_plan`, `_validate_global_plan`), before any byte is written.
 */
import type { DType } from "../dtype/mod.ts";
import { isDType, itemsize } from "../dtype/mod.ts";
import { invariant, UsageError } from "../errors/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import type { ByteStream } from "../storage/mod.ts";
import { checkShape, contiguousStrides, numel } from "../tensor/mod.ts";
import type { EntryMeta, StatePath, TensorEntryMeta } from "./metadata.ts";
import { storageKey } from "./metadata.ts";
import { checkTensorChunks } from "./validate.ts";

/**
 * One chunk of a tensor (its global box), with its row-major bytes or a provider of them, called once when
 * the rank file gets to the chunk (and free to stream them in pieces).
 */
export interface DcpTensorChunkItem {
  /** The tensor's flattened name. */
  fqn: string;
  /** The stored dtype. */
  dtype: DType;
  /** The whole tensor's shape. */
  globalShape: number[];
  /** Where the chunk starts in the tensor. */
  offsets: number[];
  /** The chunk's extent. */
  sizes: number[];
  /** The chunk's bytes, or a provider called when the rank file reaches the item. */
  data: Uint8Array | (() => Promise<ByteStream>);
  /**
   * Optional: where in a `PAGE_BYTES` page of the file the chunk's tensor data should start, so that the
   * file's pages line up with those of the file the data is copied from (the kernel copies such ranges
   * markedly faster). The writer pads the rank file before the item to get there; readers find items by
   * offset and never look between them.
   */
  pageOffset?: () => Promise<number | undefined>;
}

/** The page size `DcpTensorChunkItem.pageOffset` is relative to. */
export const PAGE_BYTES = 4096;

/** A non-tensor value, pickled with `saveTorch` (BYTE_IO). */
export interface DcpValueItem {
  /** The value's flattened name. */
  fqn: string;
  /** The value, pickled into a torch.save item. */
  value: PyValue;
}

/** A BYTE_IO item copied verbatim: the complete `torch.save` bytes of the value. */
export interface DcpRawItem {
  /** The value's flattened name. */
  fqn: string;
  /** A BYTE_IO item copied verbatim from another checkpoint. */
  raw: Uint8Array;
}

/** One item a rank writes. */
export type DcpWriteItem = DcpTensorChunkItem | DcpValueItem | DcpRawItem;

/** What a DCP save writes: the items of each rank and the object paths. */
export interface DcpWritePlan {
  /** Items per rank; rank `r` writes `__<r>_0.distcp`. An item may be listed by several ranks (replicated). */
  ranks: DcpWriteItem[][];
  /** FQN -> object path, stored as `planner_data` (`null`: none, as PyTorch 1.13). */
  plannerData?: Map<string, StatePath> | null;
}

/** A write plan after dedup and validation, as `planGlobal` returns it. */
export interface GlobalPlan {
  /** Per rank, after dedup: BYTE_IO items first, then tensor chunks, each in plan order. */
  ranks: DcpWriteItem[][];
  /** The metadata entries of everything written. */
  stateDictMetadata: Map<string, EntryMeta>;
}

export function isTensorItem(item: DcpWriteItem): item is DcpTensorChunkItem {
  return "globalShape" in item;
}

function itemKey(item: DcpWriteItem): string {
  return storageKey(item.fqn, isTensorItem(item) ? item.offsets : null);
}

function plannedSize(item: DcpWriteItem): number {
  return isTensorItem(item) ? numel(item.sizes) * itemsize(item.dtype) || 1 : 1;
}

/**
 * Keeps each replicated item (same fqn and offsets on several ranks) on one rank only: the rank with the
 * fewest planned bytes so far, in first-seen order, as PyTorch does.
 */
export function dedupPlan(ranks: readonly DcpWriteItem[][]): DcpWriteItem[][] {
  const holders = new Map<string, number[]>();
  const first = new Map<string, DcpWriteItem>();
  ranks.forEach((items, r) => {
    for (const item of items) {
      const k = itemKey(item);
      const h = holders.get(k) ?? [];
      if (!h.includes(r)) h.push(r);
      holders.set(k, h);
      if (!first.has(k)) first.set(k, item);
    }
  });
  const planned = ranks.map(() => 0);
  const owner = new Map<string, number>();
  for (const [k, h] of holders) {
    const chosen = h.reduce((best, r) => (planned[r] < planned[best] ? r : best), h[0]);
    const item = first.get(k);
    invariant(item, "every held key has its first item");
    planned[chosen] += plannedSize(item);
    owner.set(k, chosen);
  }
  return ranks.map((items, r) => {
    const seen = new Set<string>();
    return items.filter((item) => {
      const k = itemKey(item);
      if (owner.get(k) !== r || seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  });
}

/** Dedups, builds `state_dict_metadata` in rank-then-plan order, and validates every tensor's layout. */
export function planGlobal(plan: DcpWritePlan): GlobalPlan {
  if (plan.ranks.length === 0) throw new UsageError("E_USAGE", "a write plan needs at least one rank");
  for (const items of plan.ranks) for (const item of items) checkItem(item);
  const ranks = dedupPlan(plan.ranks);
  const sdm = new Map<string, EntryMeta>();
  for (const items of ranks) {
    for (const item of items) {
      const seen = sdm.get(item.fqn);
      if (!isTensorItem(item)) {
        if (seen) throw new UsageError("E_USAGE", `'${item.fqn}' is planned both as a value and as a tensor`);
        sdm.set(item.fqn, { kind: "bytes" });
        continue;
      }
      if (seen === undefined) {
        sdm.set(item.fqn, newTensorEntry(item));
      } else if (seen.kind === "bytes" || seen.dtype !== item.dtype || !sameDims(seen.size, item.globalShape)) {
        throw new UsageError("E_USAGE", `items of '${item.fqn}' disagree about its kind, dtype or global shape`);
      } else {
        seen.chunks.push({ offsets: [...item.offsets], sizes: [...item.sizes] });
      }
    }
  }
  for (const [fqn, e] of sdm) {
    if (e.kind === "tensor") checkTensorChunks(fqn, e, { requireTiling: plan.ranks.length > 1 });
  }
  return {
    ranks: ranks.map((items) => [...items.filter((i) => !isTensorItem(i)), ...items.filter(isTensorItem)]),
    stateDictMetadata: sdm,
  };
}

function newTensorEntry(item: DcpTensorChunkItem): TensorEntryMeta {
  return {
    kind: "tensor",
    dtype: item.dtype,
    size: [...item.globalShape],
    chunks: [{ offsets: [...item.offsets], sizes: [...item.sizes] }],
    requiresGrad: false,
    pinMemory: false,
    memoryFormat: "contiguous",
    strides: contiguousStrides(item.sizes),
  };
}

function checkItem(item: DcpWriteItem): void {
  if (typeof item.fqn !== "string") throw new UsageError("E_USAGE", "every write item needs a string fqn");
  if (!isTensorItem(item)) {
    if ("raw" in item) {
      const r = item.raw;
      if (!(r instanceof Uint8Array) || r[0] !== 0x50 || r[1] !== 0x4b || r[2] !== 0x03 || r[3] !== 0x04) {
        throw new UsageError("E_USAGE", `raw item '${item.fqn}' is not a torch.save archive`);
      }
    }
    return;
  }
  if (!isDType(item.dtype)) throw new UsageError("E_USAGE", `'${item.fqn}' has unknown dtype '${item.dtype}'`);
  const rank = item.globalShape.length;
  if (item.offsets.length !== rank || item.sizes.length !== rank) {
    throw new UsageError("E_USAGE", `'${item.fqn}' chunk rank does not match its ${rank}-d global shape`);
  }
  for (const dims of [item.globalShape, item.offsets, item.sizes]) checkShape(dims, {});
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
