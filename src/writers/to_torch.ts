import type { StatePath } from "../dcp/mod.ts";
import { unflattenStateDict } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import { writeFile } from "../storage/mod.ts";
import { wholeBox } from "../tensor/mod.ts";
import { saveTorch } from "../torch/mod.ts";
import type { LazyTensor } from "../torch/mod.ts";
import type { Location } from "../source/mod.ts";
import type { ProgressTracker } from "../tasks/mod.ts";
import type { Selected } from "../source/mod.ts";
import type { TensorSource, ValueEntry } from "../source/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import type { BandJob } from "../pipeline/mod.ts";
import { BandPipeline, regionJobs } from "../pipeline/mod.ts";
import { applyDictAttributes } from "../dcp/mod.ts";

export interface TorchOutputOptions {
  engine: Engine;
  tracker: ProgressTracker;
  /** Bytes of one band of a tensor (in the wider of the source and target dtypes). */
  bandBytes: number;
  /** The destination copies stored bytes without reading them (`ByteSink.copyFrom`). */
  copies: boolean;
  /** Nesting of the output (PyTorch's `dcp_to_torch_save` rebuilds it from `planner_data`). */
  paths: Map<string, StatePath> | null;
}

/**
 * Writes one torch.save file loadable with `torch.load(weights_only=True)`: the state dict nested again
 * from the source's object paths, each tensor a lazy leaf whose bytes stream in row bands, read and cast
 * only when the writer reaches its storage record, through reused buffers (two bands in memory at a time).
 */
export async function writeTorchOutput(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  dst: Location,
  opts: TorchOutputOptions,
): Promise<string[]> {
  const leaves = new Map<string, unknown>();
  const jobs = new Map<LazyTensor, BandJob[]>();
  // Assigned once every leaf (whose reader closes over it) is planned.
  // deno-lint-ignore prefer-const
  let pipeline: BandPipeline | undefined;
  for (const t of targets) {
    const bands = await regionJobs(source, t, wholeBox(t.shape), opts);
    const lazy: LazyTensor = {
      dtype: t.dtype,
      shape: [...t.shape],
      read: () => Promise.resolve(pipeline!.stream(bands, (bytes) => opts.tracker.add(bytes, t.name))),
    };
    jobs.set(lazy, bands);
    leaves.set(t.name, lazy);
  }
  for (const v of values) leaves.set(v.name, await source.readValue(v.entry.name));
  const nested = unflattenStateDict(leaves as Map<string, PyValue>, opts.paths);
  applyDictAttributes(nested, source.dictAttributes ?? []);
  pipeline = new BandPipeline(source, opts.engine, lazyLeavesInOrder(nested, jobs), { readAheadBytes: opts.bandBytes });
  try {
    await writeFile(dst.storage, dst.path, (sink) => saveTorch(sink, nested as unknown as PyValue));
  } finally {
    await pipeline.settle();
  }
  opts.tracker.fileDone(dst.path);
  return [dst.path];
}

/**
 * The band jobs of the lazy leaves in the order `saveTorch` writes their storages (first appearance in a
 * depth-first walk of dicts and lists), so the next band can be prepared while one is written.
 */
function lazyLeavesInOrder(value: unknown, jobs: Map<LazyTensor, BandJob[]>): BandJob[] {
  const order: BandJob[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    const bands = jobs.get(v as LazyTensor);
    if (bands) for (const b of bands) order.push(b);
    else if (v instanceof Map) for (const x of v.values()) walk(x);
    else if (Array.isArray(v)) for (const x of v) walk(x);
  };
  walk(value);
  return order;
}
