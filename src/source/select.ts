import type { Entry, SourceFormat, TensorEntry, ValueEntry } from "./tensor_source.ts";
import { keyFilter } from "./glob.ts";

/** Top-level groups of a TorchTitan training checkpoint that are not model weights. */
export const TRAINING_GROUPS = ["optimizer", "lr_scheduler", "dataloader", "train_state"] as const;

/** Which entries a job takes. */
export interface SelectOptions {
  /** Keep only keys matching these globs (`*` within a segment, `**` across). */
  include?: readonly string[];
  /** Drop keys matching these globs (a plain name drops its whole group). */
  exclude?: readonly string[];
  /** Drop the training groups and unwrap a `model.` prefix (TorchTitan checkpoints before July 2025). */
  modelOnly?: boolean;
}

/** An entry kept for output, under the name it will have there. */
export interface Selected<E extends Entry = Entry> {
  /** The output name (after `modelOnly` unwraps `model.`). */
  name: string;
  /** The source entry. */
  entry: E;
}

/** What the options select. */
export interface Selection {
  /** Selected tensors. */
  tensors: Selected<TensorEntry>[];
  /** Selected values. */
  values: Selected<ValueEntry>[];
  /** Source names left out by the options (reported, never silent). */
  dropped: string[];
}

/**
 * Picks the entries a job works on. `--model-only` unwraps `model.` only for training-framework inputs (DCP,
 * torch.save) and only when every kept entry has it: HuggingFace names start with `model.` by design.
 */
export function selectEntries(entries: readonly Entry[], format: SourceFormat, opts: SelectOptions): Selection {
  const keep = keyFilter(opts.include, opts.exclude);
  const isTraining = (name: string) => TRAINING_GROUPS.some((g) => name === g || name.startsWith(`${g}.`));
  const kept: Entry[] = [];
  const dropped: string[] = [];
  for (const e of entries) {
    if ((opts.modelOnly && isTraining(e.name)) || !keep(e.name)) dropped.push(e.name);
    else kept.push(e);
  }
  const unwrap = opts.modelOnly && (format === "dcp" || format === "torch") && kept.length > 0 &&
    kept.every((e) => e.name.startsWith("model."));
  const rename = (name: string) => (unwrap ? name.slice("model.".length) : name);
  const out: Selection = { tensors: [], values: [], dropped };
  for (const e of kept) {
    if (e.kind === "tensor") out.tensors.push({ name: rename(e.name), entry: e });
    else out.values.push({ name: rename(e.name), entry: e });
  }
  return out;
}
