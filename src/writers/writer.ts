import type { Layout, StatePath } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import type { Location, Selected, TensorSource, ValueEntry } from "../source/mod.ts";
import type { ProgressTracker } from "../tasks/mod.ts";
import type { Part } from "./part.ts";

/** The output formats convert writes. */
export type TargetFormat = "dcp" | "safetensors" | "torch";

/** What a writer writes: tensors planned from a source (cast, renamed), and the values carried over. */
export interface WriteInput {
  /** The source the tensors are read from. */
  source: TensorSource;
  /** Target tensors, in the order their data is read. */
  targets: readonly TargetTensor[];
  /** Non-tensor values; safetensors holds none, so its writer is given none. */
  values: readonly Selected<ValueEntry>[];
  /** Object paths of the output entries (DCP `planner_data`, torch.save nesting) by output name; null: flat. */
  paths: Map<string, StatePath> | null;
}

/** How a writer writes; the last group of fields applies to one format each. */
export interface WriterOptions {
  /** The engine that casts. */
  engine: Engine;
  /** Progress of the bytes written. */
  tracker: ProgressTracker;
  /** Bytes of one band of a tensor (in the wider of the source and target dtypes). */
  bandBytes: number;
  /** The destination copies stored bytes without reading them (`ByteSink.copyFrom`). */
  copies: boolean;
  /** Output files written at once. */
  concurrency: number;
  /** Write only this share of the output files, plus a manifest `finalize` merges. */
  part?: Part;
  /** DCP: the target chunking (default: one rank). */
  layout?: Layout;
  /** DCP: copy BYTE_IO items whose pickles name globals outside the allow-list (default false: E_UNSAFE_VALUE). */
  allowUnsafeValues?: boolean;
  /** safetensors: start a new shard before it would grow past this many data bytes. */
  maxShardSize?: number;
  /** safetensors: target name -> shard file name, from an existing HF folder's index. */
  shardMap?: Map<string, string>;
}

/**
 * One writer per output format, all of this shape: stream `input` into `dst` and return the files written
 * (relative to `dst.storage`).
 */
export type Writer = (input: WriteInput, dst: Location, opts: WriterOptions) => Promise<string[]>;
