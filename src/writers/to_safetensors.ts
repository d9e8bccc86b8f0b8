import type { Writer, WriterOptions } from "./writer.ts";
import { invariant, UsageError } from "../errors/mod.ts";
import { joinPath, writeFile } from "../storage/mod.ts";
import { planShards, SAFETENSORS_INDEX_NAME, writeSafetensors, writeSafetensorsIndex } from "../safetensors/mod.ts";
import type { SafetensorsEntry } from "../safetensors/mod.ts";
import { DTYPE_INFO } from "../dtype/mod.ts";
import { compareCodePoints, referenceDtypeRank } from "../safetensors/mod.ts";
import { wholeBox } from "../tensor/mod.ts";
import { runLimited } from "../tasks/mod.ts";
import { BandPipeline, type DescriptorCaster, JobPlanner, regionJobs } from "../pipeline/mod.ts";
import { descriptorCasterFor } from "./descriptor_caster.ts";
import { ownedFiles, partManifestName } from "./part.ts";
import type { TensorSource } from "../source/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import { ChecksummingStorage, recordPartFiles } from "./part_files.ts";

/**
 * Groups targets into shard files in the given (read) order: HF's greedy packing up to `maxShardSize`, or
 * the file an existing folder's index names for each tensor.
 */
export function planShardFiles(
  targets: readonly TargetTensor[],
  maxShardSize?: number,
  shardMap?: Map<string, string>,
): Array<{ file: string; tensors: TargetTensor[] }> {
  if (!shardMap) {
    return planShards(targets, maxShardSize ?? Number.MAX_SAFE_INTEGER).shards.map((s) => ({
      file: s.file,
      tensors: s.entries,
    }));
  }
  const unmapped = targets.filter((t) => !shardMap.has(t.name)).map((t) => t.name);
  if (unmapped.length > 0) {
    throw new UsageError("E_USAGE", `tensors missing from the asset folder's shard plan: ${unmapped.join(", ")}`);
  }
  const files = new Map<string, TargetTensor[]>();
  for (const t of targets) {
    const f = shardMap.get(t.name);
    invariant(f !== undefined, "unmapped tensors were refused above");
    files.set(f, [...(files.get(f) ?? []), t]);
  }
  return [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, tensors]) => ({ file, tensors }));
}

/**
 * The order `writeSafetensors` pulls tensors in (dtype rank descending, then name), so the pipeline can
 * read the next tensor's first band while the last one's is written. Only speed depends on it matching.
 */
function writeOrder(tensors: readonly TargetTensor[]): TargetTensor[] {
  const rank = (t: TargetTensor) => referenceDtypeRank(DTYPE_INFO[t.dtype].safetensors ?? "");
  return [...tensors].sort((a, b) => rank(b) - rank(a) || compareCodePoints(a.name, b.name));
}

/**
 * One shard file: its entries pull their bands from one pipeline, planned in write order. With a caster,
 * casts of stored bytes are made by descriptor on its workers.
 */
function shardEntries(
  source: TensorSource,
  tensors: readonly TargetTensor[],
  opts: WriterOptions,
  caster: DescriptorCaster | undefined,
): { entries: SafetensorsEntry[]; release(): Promise<void> } {
  const pipeline = new BandPipeline(source, opts.engine, [], { readAheadBytes: opts.bandBytes, caster });
  // Planned while the file is written: the header needs only names, dtypes and shapes.
  const planner = new JobPlanner(
    writeOrder(tensors),
    (t) => regionJobs(source, t, wholeBox(t.shape), { ...opts, caster }),
    (jobs) => pipeline.append(jobs),
  );
  const entries = tensors.map((t): SafetensorsEntry => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    data: async () => pipeline.stream(await planner.jobsOf(t), (bytes) => opts.tracker.add(bytes, t.name)),
  }));
  return { entries, release: () => planner.stop().then(() => pipeline.release()) };
}

/**
 * Writes safetensors output: one file, or a folder of shards plus `model.safetensors.index.json` (with a
 * part: only this part's shards plus a JSON manifest for `finalize`). Returns the files written.
 */
export const writeSafetensorsOutput: Writer = async ({ source, targets }, dst, opts) => {
  // A `.safetensors` destination is one file; anything else a folder of shards with an index.
  const singleFile = dst.path.endsWith(".safetensors");
  const shards = singleFile ? [{ file: dst.path, tensors: [...targets] }] : planShardFiles(
    targets,
    opts.maxShardSize,
    opts.shardMap,
  );
  const fileOf = (name: string) => (singleFile ? name : joinPath(dst.path, name));
  const owns = ownedFiles(opts.part, shards.map((s) => s.tensors.reduce((n, t) => n + t.bytes, 0)));
  const mine = shards.filter((_, i) => owns(i));
  // A part keeps the size and CRC-32 of each shard it writes, for `finalize`.
  const sums = new ChecksummingStorage(dst.storage);
  const storage = opts.part ? sums : dst.storage;
  const caster = descriptorCasterFor(mine.flatMap((s) => s.tensors), opts, false);
  try {
    await runLimited(
      mine.map((s) => async () => {
        const { entries, release } = shardEntries(source, s.tensors, opts, caster);
        try {
          await writeFile(storage, fileOf(s.file), (sink) => writeSafetensors(sink, entries, { format: "pt" }));
        } finally {
          await release();
        }
        opts.tracker.fileDone(s.file);
      }),
      opts.concurrency,
    );
  } finally {
    await caster?.close();
  }
  const written = mine.map((s) => fileOf(s.file));
  if (singleFile) return written;
  const weightMap = new Map(mine.flatMap((s) => s.tensors.map((t) => [t.name, s.file] as [string, string])));
  const totalSize = mine.reduce((n, s) => n + s.tensors.reduce((m, t) => m + t.bytes, 0), 0);
  if (!opts.part) {
    const indexPath = joinPath(dst.path, SAFETENSORS_INDEX_NAME);
    await writeSafetensorsIndex(dst.storage, indexPath, { metadata: { total_size: totalSize }, weightMap });
    return [...written, indexPath];
  }
  const files = await recordPartFiles(dst, opts.part, written, sums);
  const manifest = joinPath(dst.path, partManifestName(opts.part, "json"));
  const doc: SafetensorsPartManifest = {
    shards: shards.length,
    files: mine.map((s) => s.file),
    total_size: totalSize,
    weight_map: Object.fromEntries(weightMap),
  };
  await dst.storage.writeAll(manifest, new TextEncoder().encode(JSON.stringify(doc, null, 1)));
  return [...written, files, manifest];
};

/** What a safetensors part leaves for `finalize`: its shards and their slice of the index. */
export interface SafetensorsPartManifest {
  /** Shard files of the whole output. */
  shards: number;
  /** The shard files this part wrote. */
  files: string[];
  /** Tensor bytes in those shards. */
  total_size: number;
  /** Tensor name to shard file, for this part's tensors. */
  weight_map: Record<string, string>;
}
