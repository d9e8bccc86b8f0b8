import type { StatePath } from "../dcp/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import type { Storage, StoredRange } from "../storage/mod.ts";
import type { Box, Entry, Tensor, TensorEntry, ValueEntry } from "../tensor/mod.ts";

export type { Entry, StoredChunk, TensorEntry, ValueEntry } from "../tensor/mod.ts";
import type { DictAttributes } from "../dcp/mod.ts";

/** The input formats `openTensorSource` recognises. */
export type SourceFormat = "dcp" | "hf" | "safetensors" | "torch";

/** A data file of a source. */
export interface SourceFile {
  /** Path relative to the source's storage. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** The writing rank, for DCP `__<rank>_<n>.distcp` files. */
  rank?: number;
}

/** One read model over DCP folders, HF folders, `.safetensors` and torch.save files. */
export interface TensorSource {
  /** The input's format. */
  readonly format: SourceFormat;
  /** The storage the input is in. */
  readonly storage: Storage;
  /** The folder or file opened, relative to `storage`. */
  readonly path: string;
  /** Entries in the source's own order; names are flattened FQNs (`optimizer.state.w.exp_avg`). */
  readonly entries: Entry[];
  /** Data files the entries point into (paths relative to `storage`). */
  readonly files: SourceFile[];
  /** Metadata files (`.metadata`, `model.safetensors.index.json`), also relative to `storage`. */
  readonly metadataFiles: string[];
  /** Object paths of entries in the nested state dict (DCP `planner_data`, `.pt` nesting); null when flat. */
  readonly paths: Map<string, StatePath> | null;
  /** Attributes of nested dicts (a `.pt` state dict's `_metadata`), for targets that can hold them. */
  readonly dictAttributes?: readonly DictAttributes[];
  /**
   * Reads a tensor, or only the `box` region of it, in its stored dtype. With `out` (exactly the region's
   * byte size) the bytes land there and the result's data is `out`, so band loops can reuse buffers
   * instead of paying for fresh memory on every read.
   */
  readTensor(name: string, box?: Box, out?: Uint8Array): Promise<Tensor>;
  /**
   * Optional: where the bytes of `box` of a tensor sit in storage, in row-major order, when they are stored
   * exactly as `readTensor` would return them; undefined when they are not (then read them). Lets a sink
   * that can copy (`ByteSink.copyFrom`) move them without this process reading them.
   */
  locate?(name: string, box: Box): Promise<StoredRange[] | undefined>;
  /** Decodes a non-tensor value. */
  readValue(name: string): Promise<PyValue>;
  /** Closes the files the source holds open. */
  close(): Promise<void>;
}

/** The tensor entries of a source. */
export function tensorEntries(source: { entries: readonly Entry[] }): TensorEntry[] {
  return source.entries.filter((e): e is TensorEntry => e.kind === "tensor");
}

/** The value entries of a source. */
export function valueEntries(source: { entries: readonly Entry[] }): ValueEntry[] {
  return source.entries.filter((e): e is ValueEntry => e.kind === "value");
}
