import { itemsize } from "../dtype/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { boxNumel, intersectBoxes } from "../tensor/mod.ts";
import type { ConvertOptions, ConvertReport } from "./convert.ts";
import { convertSource } from "./convert.ts";
import { type Layout, rankFileName } from "../dcp/mod.ts";
import type { Location } from "../source/mod.ts";
import type { SelectOptions } from "../source/mod.ts";
import { selectEntries } from "../source/mod.ts";
import { openTensorSource } from "../source/mod.ts";
import type { TensorSource } from "../source/mod.ts";

/** A DCP-to-DCP convert: the convert options that apply to a reshard, with the target layout required. */
export type ReshardOptions =
  & Omit<ConvertOptions, "to" | "dtype" | "adapter" | "hfAssets" | "maxShardSize" | "layout">
  & {
    layout: Layout;
  };

/** One region of a target chunk and the stored source item it comes from. */
export interface ReshardMove {
  /** The tensor's name. */
  fqn: string;
  /** Target file and the chunk it belongs to. */
  to: { file: string; chunk: Box };
  /** Source file, the stored item's byte range, and the global region copied. */
  from: { file: string; offset: number; length: number; chunk: Box };
  /** The region of the tensor that moves (global coordinates). */
  region: Box;
  /** Bytes that move. */
  bytes: number;
}

/** What `reshard` would move where (`dryRunReshard`). */
export interface ReshardPlan {
  /** The target layout, described. */
  layout: string;
  /** Target ranks. */
  ranks: number;
  /** Every piece of source chunk that lands in a target chunk. */
  moves: ReshardMove[];
  /** Non-tensor items, copied verbatim to rank 0's file. */
  values: Array<{ fqn: string; from: { file: string; offset: number; length: number }; to: string }>;
  /** Bytes per target file (tensor data only). */
  files: Array<{ file: string; bytes: number }>;
  /** Tensor bytes that move in all. */
  totalBytes: number;
}

/** What `reshard --dry-run` prints: for every target chunk, which bytes of which source items move there. */
export function planReshard(source: TensorSource, layout: Layout, select: SelectOptions = {}): ReshardPlan {
  const selection = selectEntries(source.entries, source.format, select);
  const plan: ReshardPlan = {
    layout: layout.description,
    ranks: layout.ranks,
    moves: [],
    values: [],
    files: [],
    totalBytes: 0,
  };
  const perFile = new Map<string, number>();
  for (const { name, entry } of selection.tensors) {
    for (const box of layout.boxesFor(name, entry.shape)) {
      const file = rankFileName(box.rank);
      for (const c of entry.chunks) {
        const region = intersectBoxes(c, box);
        if (!region || boxNumel(region) === 0 && entry.shape.length > 0) continue;
        const bytes = boxNumel(region) * itemsize(entry.dtype);
        plan.moves.push({
          fqn: name,
          to: { file, chunk: { offsets: box.offsets, sizes: box.sizes } },
          from: { file: c.file, offset: c.offset, length: c.length, chunk: { offsets: c.offsets, sizes: c.sizes } },
          region,
          bytes,
        });
        perFile.set(file, (perFile.get(file) ?? 0) + bytes);
        plan.totalBytes += bytes;
      }
    }
  }
  for (const { name, entry } of selection.values) {
    if (entry.stored) plan.values.push({ fqn: name, from: entry.stored, to: rankFileName(0) });
  }
  plan.files = [...perFile].sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, bytes]) => ({ file, bytes }));
  return plan;
}

/**
 * `webdcp reshard`: rewrites a checkpoint with another chunking (`--ranks M [--dim D]`, a mesh, or explicit
 * boxes), as DCP. Tensors keep their dtype; non-tensor items are copied verbatim.
 */
export async function reshard(src: Location, dst: Location, opts: ReshardOptions): Promise<ConvertReport> {
  const source = await openTensorSource(src.storage, src.path, { limits: opts.limits });
  try {
    return await convertSource(source, dst, { ...opts, to: "dcp" });
  } finally {
    await source.close();
  }
}

/** Opens the source and returns the dry-run plan. */
export async function dryRunReshard(src: Location, opts: ReshardOptions): Promise<ReshardPlan> {
  const source = await openTensorSource(src.storage, src.path, { limits: opts.limits });
  try {
    return planReshard(source, opts.layout, opts);
  } finally {
    await source.close();
  }
}
