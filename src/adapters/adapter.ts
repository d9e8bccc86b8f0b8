import type { DType } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";

/** Which way a model adapter maps a state dict: out of the training framework into HuggingFace, or back. */
export type AdapterDirection = "to-hf" | "from-hf";

/** What an adapter needs to know about one source tensor; no data is read to plan. */
export interface AdapterSourceEntry {
  /** The tensor's name in the source. */
  readonly name: string;
  /** Its stored dtype. */
  readonly dtype: DType;
  /** Its shape. */
  readonly shape: readonly number[];
}

/** One tensor of the converted state dict and how to make it from a source tensor. */
export interface AdapterTargetEntry {
  /** The tensor's name in the target. */
  targetName: string;
  /** The source tensor it is made from. */
  sourceName: string;
  /** The source dtype; casting is the convert job's business. */
  dtype: DType;
  /** The target shape (a reshape of the source's elements). */
  shape: number[];
  /**
   * Rows along dim 0 move: target row `i` is source row `rowPermutation[i]` (each row is the contiguous
   * block of the remaining dims). Absent means a plain copy.
   */
  rowPermutation?: Int32Array;
}

/** A source tensor the adapter deliberately leaves out of the target, and why. */
export interface AdapterDroppedEntry {
  /** The source tensor left out. */
  name: string;
  /** Why it is left out. */
  reason: string;
}

/** What an adapter makes of the source tensors. */
export interface AdapterPlan {
  /** The target tensors. */
  entries: AdapterTargetEntry[];
  /** The source tensors left out. */
  dropped: AdapterDroppedEntry[];
}

/** A file that belongs next to the converted tensors (e.g. HuggingFace `config.json`). */
export interface AdapterFile {
  /** Path of the file next to the tensors. */
  path: string;
  /** Its contents. */
  bytes: Uint8Array;
}

/** Options of `StateDictAdapter.extraFiles`. */
export interface AdapterFileOptions {
  /** The dtype the tensors are written in (recorded as `torch_dtype`). */
  dtype?: DType;
}

/** Where the planned entries came from, for error messages. */
export interface AdapterPlanOptions {
  /** The source's path. */
  path?: string;
}

/** A model-specific state-dict mapping, planned from names, dtypes and shapes alone. */
export interface StateDictAdapter {
  /** The model family (`llama3`). */
  readonly model: string;
  /** The model size (`8B`, `debugmodel`, ...). */
  readonly flavor: string;
  /** Which way names are mapped. */
  readonly direction: AdapterDirection;
  /** Maps every source entry or fails: unknown keys (all named) are `E_UNKNOWN_KEY`, absent ones `E_MISSING_KEY`. */
  plan(entries: readonly AdapterSourceEntry[], options?: AdapterPlanOptions): AdapterPlan;
  /** Files to write beside the tensors when no existing asset folder supplies them. */
  extraFiles(options?: AdapterFileOptions): AdapterFile[];
}

const TRAINING_STATE_PREFIXES = ["optimizer.", "lr_scheduler.", "dataloader.", "train_state."];

/** The error for source keys an adapter cannot map; it names every one of them. */
export function unknownKeysError(model: string, keys: readonly string[], path?: string): FormatError {
  const training = keys.some((k) => TRAINING_STATE_PREFIXES.some((p) => k.startsWith(p)));
  const hint = training ? " (training state present: convert with --model-only)" : "";
  return new FormatError(
    "E_UNKNOWN_KEY",
    `${keys.length} key(s) unknown to the ${model} adapter${hint}: ${keys.join(", ")}`,
    { path },
  );
}

/** The error for keys the adapter's model needs but the source lacks; it names every one of them. */
export function missingKeysError(model: string, keys: readonly string[], path?: string): FormatError {
  return new FormatError(
    "E_MISSING_KEY",
    `${keys.length} key(s) the ${model} model needs are missing: ${keys.join(", ")}`,
    {
      path,
    },
  );
}
