import { invariant } from "../errors/mod.ts";
import type { Writer } from "./writer.ts";
import { unflattenStateDict } from "../dcp/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import { writeFile } from "../storage/mod.ts";
import { wholeBox } from "../tensor/mod.ts";
import { saveTorch } from "../torch/mod.ts";
import type { LazyTensor } from "../torch/mod.ts";
import type { BandJob } from "../pipeline/mod.ts";
import { BandPipeline, regionJobs } from "../pipeline/mod.ts";
import { descriptorCasterFor } from "./descriptor_caster.ts";
import { applyDictAttributes } from "../dcp/mod.ts";

/**
 * Writes one torch.save file loadable with `torch.load(weights_only=True)`: the state dict nested again
 * from the source's object paths, each tensor a lazy leaf whose bytes stream in row bands, read and cast
 * only when the writer reaches its storage record, through reused buffers (two bands in memory at a time).
 */
export const writeTorchOutput: Writer = async ({ source, targets, values, paths }, dst, opts) => {
  const leaves = new Map<string, unknown>();
  const jobs = new Map<LazyTensor, BandJob[]>();
  // Assigned once every leaf (whose reader closes over it) is planned.
  // deno-lint-ignore prefer-const
  let pipeline: BandPipeline | undefined;
  // Casts of stored bytes by descriptor on the caster's workers, which work out each band's CRC-32 there.
  const caster = descriptorCasterFor(targets, opts, true);
  for (const t of targets) {
    const bands = await regionJobs(source, t, wholeBox(t.shape), { ...opts, caster });
    const lazy: LazyTensor = {
      dtype: t.dtype,
      shape: [...t.shape],
      read: () => {
        invariant(pipeline, "saveTorch reads leaves only once every leaf is planned");
        return Promise.resolve(pipeline.stream(bands, (bytes) => opts.tracker.add(bytes, t.name)));
      },
    };
    jobs.set(lazy, bands);
    leaves.set(t.name, lazy);
  }
  for (const v of values) leaves.set(v.name, await source.readValue(v.entry.name));
  const nested = unflattenStateDict(leaves as Map<string, PyValue>, paths);
  applyDictAttributes(nested, source.dictAttributes ?? []);
  pipeline = new BandPipeline(source, opts.engine, lazyLeavesInOrder(nested, jobs), {
    readAheadBytes: opts.bandBytes,
    caster,
  });
  try {
    await writeFile(dst.storage, dst.path, (sink) => saveTorch(sink, nested as unknown as PyValue));
  } finally {
    await pipeline.release();
    await caster?.close();
  }
  opts.tracker.fileDone(dst.path);
  return [dst.path];
};

/**
 * The band jobs of the lazy leaves in the order `saveTorch` writes their storages (first appearance in a
 * depth-first walk of dicts and lists), so the next band can be prepared while one is written.
 */
function lazyLeavesInOrder(value: unknown, jobs: Map<LazyTensor, BandJob[]>): BandJob[] {
  const order: BandJob[] = [];
  const seen = new Set<unknown>();
  // Depth first with its own stack (children pushed in reverse, so they are met in order).
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    const bands = jobs.get(v as LazyTensor);
    const kids = bands ? [] : v instanceof Map ? [...v.values()] : Array.isArray(v) ? v : [];
    if (bands) { for (const b of bands) order.push(b); }
    for (let i = kids.length - 1; i >= 0; i--) todo.push(kids[i]);
  }
  return order;
}
