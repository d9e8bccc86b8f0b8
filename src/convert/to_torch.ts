import type { StatePath } from "../dcp/mod.ts";
import { unflattenStateDict } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { PyValue } from "../pickle/value.ts";
import { wholeBox } from "../tensor/mod.ts";
import { saveTorch } from "../torch/mod.ts";
import type { LazyTensor } from "../torch/mod.ts";
import type { Location } from "./location.ts";
import type { ProgressTracker } from "./progress.ts";
import type { Selected } from "./select.ts";
import type { TensorSource, ValueEntry } from "./source_types.ts";
import type { TargetTensor } from "./targets.ts";
import { readTargetBox } from "./targets.ts";

export interface TorchOutputOptions {
  engine: Engine;
  tracker: ProgressTracker;
  /** Nesting of the output (PyTorch's `dcp_to_torch_save` rebuilds it from `planner_data`). */
  paths: Map<string, StatePath> | null;
}

/**
 * Writes one torch.save file loadable with `torch.load(weights_only=True)`: the state dict nested again
 * from the source's object paths, each tensor a lazy leaf whose bytes are read and cast only when the
 * writer reaches its storage record (one tensor in memory at a time).
 */
export async function writeTorchOutput(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  dst: Location,
  opts: TorchOutputOptions,
): Promise<string[]> {
  const leaves = new Map<string, unknown>();
  for (const t of targets) {
    const lazy: LazyTensor = {
      dtype: t.dtype,
      shape: [...t.shape],
      read: async () => {
        const data = await readTargetBox(source, t, wholeBox(t.shape), opts.engine);
        opts.tracker.add(data.byteLength, t.name);
        return data;
      },
    };
    leaves.set(t.name, lazy);
  }
  for (const v of values) leaves.set(v.name, await source.readValue(v.entry.name));
  const nested = unflattenStateDict(leaves as Map<string, PyValue>, opts.paths);
  const sink = await dst.storage.create(dst.path);
  try {
    await saveTorch(sink, nested as unknown as PyValue);
    await sink.close();
  } catch (e) {
    await sink.abort().catch(() => {});
    throw e;
  }
  opts.tracker.fileDone(dst.path);
  return [dst.path];
}
