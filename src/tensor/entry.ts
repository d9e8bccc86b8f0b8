import type { DType } from "../dtype/mod.ts";
import type { Box } from "./box.ts";

/** Where one stored chunk of a tensor lives: its box of the global tensor and the byte range holding it. */
export interface StoredChunk extends Box {
  /** File path relative to the storage root of the checkpoint. */
  file: string;
  /** Byte offset and length of the stored item (a whole torch.save item for DCP, raw data otherwise). */
  offset: number;
  /** Stored bytes of the item. */
  length: number;
}

/**
 * A named tensor of a checkpoint, whatever the format: its dtype, global shape and the stored chunks that
 * tile it (one for safetensors and `.pt`, one per saved shard for DCP).
 */
export interface TensorEntry {
  /** Tells a tensor entry from a value entry. */
  kind: "tensor";
  /** The flattened name (`model.layers.0.attention.wq.weight`). */
  name: string;
  /** The stored dtype. */
  dtype: DType;
  /** The global shape. */
  shape: number[];
  /** The stored chunks; together they tile `shape`. */
  chunks: StoredChunk[];
  /** Dense size in bytes (numel * itemsize). */
  bytes: number;
}

/** A named non-tensor value of a checkpoint (a DCP BYTE_IO item, a number inside a `.pt` pickle). */
export interface ValueEntry {
  /** Tells a value entry from a tensor entry. */
  kind: "value";
  /** The flattened name (`optimizer.param_groups.0.lr`). */
  name: string;
  /** Stored size in bytes (the BYTE_IO item for DCP; 0 where the value lives inside a pickle). */
  bytes: number;
  /** Where a DCP BYTE_IO item lives. */
  stored?: { file: string; offset: number; length: number };
}

/** An entry of a checkpoint: a tensor or a value. */
export type Entry = TensorEntry | ValueEntry;
