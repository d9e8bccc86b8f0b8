/**
 * The typed model of a DCP `.metadata` file: what `decodeMetadata` produces and `encodeMetadata` consumes.
 * Field names follow PyTorch's `Metadata` dataclass family, in camelCase.
 */
import type { DType } from "../dtype/mod.ts";
import type { Box } from "../tensor/mod.ts";

/** A tensor's memory format as torch records it. */
export type MemoryFormat = "contiguous" | "channels_last" | "preserve";

/** A tensor in the checkpoint: its global shape and the chunks (global boxes) that were saved. */
export interface TensorEntryMeta {
  /** Tells a tensor entry from a BYTE_IO entry. */
  kind: "tensor";
  /** The saved dtype. */
  dtype: DType;
  /** Global shape (`TensorStorageMetadata.size`). */
  size: number[];
  /** The saved chunks, as global boxes. */
  chunks: Box[];
  /** `TensorProperties.requires_grad`. */
  requiresGrad: boolean;
  /** `TensorProperties.pin_memory`. */
  pinMemory: boolean;
  /** `TensorProperties.memory_format`. */
  memoryFormat: MemoryFormat;
  /**
   * Strides of the first saved local tensor (PyTorch 2.15 records them as a 6th `TensorProperties` field).
   * `null` when the file predates the field; encoding `null` writes the 5-tuple older PyTorch reads.
   */
  strides: number[] | null;
}

/** A non-tensor value saved as a `torch.save` blob (BYTE_IO). */
export interface BytesEntryMeta {
  /** Tells a BYTE_IO entry from a tensor entry. */
  kind: "bytes";
}

/** One `state_dict_metadata` entry. */
export type EntryMeta = TensorEntryMeta | BytesEntryMeta;

/** An object path inside the nested state dict (`planner_data` value): str keys and int list indices. */
export type StatePath = (string | number)[];

/** Where one item's bytes live (`_StorageInfo`). */
export interface StorageInfo {
  /** File name relative to the checkpoint folder. */
  relativePath: string;
  /** Where the item starts in the file. */
  offset: number;
  /** The item's stored length. */
  length: number;
  /** Stream transforms applied to the item, in PyTorch's order (reverse of application). */
  transformDescriptors?: string[];
}

/** One `storage_data` entry: the `MetadataIndex` key and its `_StorageInfo`. */
export interface StorageEntry {
  /** The entry the item belongs to. */
  fqn: string;
  /** Chunk offsets for tensor items; `null` for BYTE_IO items (PyTorch leaves `offset` unset). */
  offsets: number[] | null;
  /** PyTorch's lookup hint (position in `chunks`); never part of the identity. */
  index: number | null;
  /** Where the item's bytes are. */
  info: StorageInfo;
}

/** `StorageMeta`: which save wrote the checkpoint. */
export interface StorageMeta {
  /** The checkpoint's id (its folder, as torch records it). */
  checkpointId: string | null;
  /** A fresh id per save. */
  saveId: string | null;
  /** Set by loads; null in saved files. */
  loadId: string | null;
  /** Storage modules named by the writer. */
  modules: string[];
}

/** The whole `.metadata` file (PyTorch's `Metadata`). */
export interface DcpMetadata {
  /** Every tensor and value saved, by flattened name. */
  stateDictMetadata: Map<string, EntryMeta>;
  /** Object paths of the entries in the nested state dict; null when the file has none. */
  plannerData: Map<string, StatePath> | null;
  /** Keyed by `storageKey(fqn, offsets)`: PyTorch identifies an item by `(fqn, offset)` only. */
  storageData: Map<string, StorageEntry>;
  /** Which save wrote it. */
  storageMeta: StorageMeta | null;
  /** The DCP version string (`DCP_VERSION` for what webdcp writes). */
  version: string | null;
}

/** The identity of an item in `storage_data`: `(fqn, offsets)`; `null` offsets mark BYTE_IO items. */
export function storageKey(fqn: string, offsets: readonly number[] | null): string {
  return offsets === null ? `${fqn}\u0000bytes` : `${fqn}\u0000[${offsets.join(",")}]`;
}

/** The DCP version string newest PyTorch writes (`CURRENT_DCP_VERSION`). */
export const DCP_VERSION = "1.0.0";
