/**
 * The typed model of a DCP `.metadata` file: what `decodeMetadata` produces and `encodeMetadata` consumes.
 * Field names follow PyTorch's `Metadata` dataclass family, in camelCase.
 */
import type { DType } from "../dtype/mod.ts";
import type { Box } from "../tensor/mod.ts";

export type MemoryFormat = "contiguous" | "channels_last" | "preserve";

/** A tensor in the checkpoint: its global shape and the chunks (global boxes) that were saved. */
export interface TensorEntryMeta {
  kind: "tensor";
  dtype: DType;
  /** Global shape (`TensorStorageMetadata.size`). */
  size: number[];
  chunks: Box[];
  requiresGrad: boolean;
  pinMemory: boolean;
  memoryFormat: MemoryFormat;
  /**
   * Strides of the first saved local tensor (PyTorch 2.15 records them as a 6th `TensorProperties` field).
   * `null` when the file predates the field; encoding `null` writes the 5-tuple older PyTorch reads.
   */
  strides: number[] | null;
}

/** A non-tensor value saved as a `torch.save` blob (BYTE_IO). */
export interface BytesEntryMeta {
  kind: "bytes";
}

export type EntryMeta = TensorEntryMeta | BytesEntryMeta;

/** An object path inside the nested state dict (`planner_data` value): str keys and int list indices. */
export type StatePath = (string | number)[];

/** Where one item's bytes live (`_StorageInfo`). */
export interface StorageInfo {
  /** File name relative to the checkpoint folder. */
  relativePath: string;
  offset: number;
  length: number;
  /** Stream transforms applied to the item, in PyTorch's order (reverse of application). */
  transformDescriptors?: string[];
}

/** One `storage_data` entry: the `MetadataIndex` key and its `_StorageInfo`. */
export interface StorageEntry {
  fqn: string;
  /** Chunk offsets for tensor items; `null` for BYTE_IO items (PyTorch leaves `offset` unset). */
  offsets: number[] | null;
  /** PyTorch's lookup hint (position in `chunks`); never part of the identity. */
  index: number | null;
  info: StorageInfo;
}

export interface StorageMeta {
  checkpointId: string | null;
  saveId: string | null;
  loadId: string | null;
  modules: string[];
}

export interface DcpMetadata {
  stateDictMetadata: Map<string, EntryMeta>;
  plannerData: Map<string, StatePath> | null;
  /** Keyed by `storageKey(fqn, offsets)`: PyTorch identifies an item by `(fqn, offset)` only. */
  storageData: Map<string, StorageEntry>;
  storageMeta: StorageMeta | null;
  version: string | null;
}

/** The identity of an item in `storage_data`: `(fqn, offsets)`; `null` offsets mark BYTE_IO items. */
export function storageKey(fqn: string, offsets: readonly number[] | null): string {
  return offsets === null ? `${fqn}\u0000bytes` : `${fqn}\u0000[${offsets.join(",")}]`;
}

/** The DCP version string newest PyTorch writes (`CURRENT_DCP_VERSION`). */
export const DCP_VERSION = "1.0.0";
