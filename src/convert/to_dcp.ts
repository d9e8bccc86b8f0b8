import type { DcpMetadata, DcpTensorChunkItem, DcpWriteItem, DcpWritePlan, StatePath, StorageEntry } from "../dcp/mod.ts";
import { DCP_VERSION, encodeMetadata, planGlobal, rankFileName, storageKey, writeDcp, writeRankFile } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { boxNumel } from "../tensor/mod.ts";
import type { BandJob } from "./band_pipeline.ts";
import { BandPipeline } from "./band_pipeline.ts";
import { runLimited } from "../tasks/mod.ts";
import type { Layout } from "./layout.ts";
import type { Location } from "./location.ts";
import type { Part } from "./part.ts";
import { ownsFile, partManifestName } from "./part.ts";
import type { ProgressTracker } from "./progress.ts";
import type { Selected } from "./select.ts";
import type { TensorSource, ValueEntry } from "./source_types.ts";
import type { TargetTensor } from "./targets.ts";

export interface DcpOutputOptions {
  layout: Layout;
  engine: Engine;
  part?: Part;
  /** Object paths for `planner_data`, by output name. */
  plannerData: Map<string, StatePath> | null;
  tracker: ProgressTracker;
  /** Chunks up to this many source bytes are read while the previous one is written. */
  bandBytes: number;
  /** Rank files written at once. */
  concurrency: number;
}

/**
 * Chunks this small are always read ahead. A chunk is written whole (a torch.save record), so the two read
 * buffers grow to the largest chunk anyway as they alternate; reading it ahead costs no further memory.
 */
const MIN_READ_AHEAD_BYTES = 128 << 20;

/**
 * The write plan for DCP output: every target tensor cut into the layout's boxes, values on rank 0 — DCP
 * BYTE_IO items copied verbatim, other values pickled. Each box is read lazily, when its rank's file is
 * written, through its rank's pipeline planned in the writer's order (as `planGlobal` orders the rank), so
 * a chunk is read while the previous one is written and the read buffers are reused; rank files written
 * at the same time each have their own buffers.
 */
export async function buildDcpPlan(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  opts: DcpOutputOptions,
  writes: (rank: number) => boolean = () => true,
): Promise<{ plan: DcpWritePlan; pipelines: BandPipeline[] }> {
  const ranks: DcpWriteItem[][] = Array.from({ length: opts.layout.ranks }, () => []);
  for (const v of values) {
    const stored = v.entry.stored;
    if (stored && source.format === "dcp") {
      ranks[0].push({ fqn: v.name, raw: await source.storage.read(stored.file, stored.offset, stored.length) });
    } else {
      ranks[0].push({ fqn: v.name, value: await source.readValue(v.entry.name) });
    }
  }
  const jobs = new Map<DcpWriteItem, BandJob>();
  // Filled once the plan (which the providers close over) is complete.
  const pipelines: BandPipeline[] = [];
  for (const t of targets) {
    for (const box of opts.layout.boxesFor(t.name, t.shape)) {
      const job: BandJob = { target: t, box };
      const item: DcpTensorChunkItem = {
        fqn: t.name,
        dtype: t.dtype,
        globalShape: [...t.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: async () => {
          const data = await pipelines[box.rank].produce(job);
          opts.tracker.add(boxNumel(box) * itemsize(t.dtype), t.name);
          return data;
        },
      };
      jobs.set(item, job);
      ranks[box.rank].push(item);
    }
  }
  const plan = { ranks, plannerData: opts.plannerData };
  for (const [rank, items] of planGlobal(plan).ranks.entries()) {
    const order = writes(rank) ? items.flatMap((item) => jobs.get(item) ?? []) : [];
    pipelines.push(
      new BandPipeline(source, opts.engine, order, { readAheadBytes: Math.max(opts.bandBytes, MIN_READ_AHEAD_BYTES) }),
    );
  }
  return { plan, pipelines };
}

/** Writes DCP output; with a part, only this part's rank files plus a partial metadata for `finalize`. */
export async function writeDcpOutput(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  dst: Location,
  opts: DcpOutputOptions,
): Promise<string[]> {
  const part = opts.part;
  const { plan, pipelines } = await buildDcpPlan(source, targets, values, opts, (r) => !part || ownsFile(part, r));
  try {
    if (!part) {
      await writeDcp(dst.storage, dst.path, plan, {
        concurrency: opts.concurrency,
        onRankWritten: (rank) => pipelines[rank].release(),
      });
      // Every rank has a file, empty when dedup left it nothing (as PyTorch's writer does).
      return [...plan.ranks.map((_, r) => joinPath(dst.path, `__${r}_0.distcp`)), joinPath(dst.path, ".metadata")];
    }
    return await writeDcpPart(plan, dst, part, opts, (rank) => pipelines[rank].release());
  } finally {
    for (const p of pipelines) await p.settle();
  }
}

/**
 * One part of a multi-machine DCP write: every part derives the same global plan, writes the rank files it
 * owns (rank % w === r) and leaves `.webdcp-part-r-of-w.metadata`, a partial `.metadata` pickle of its
 * items that `finalize` merges. Ranks a part does not own are never read.
 */
async function writeDcpPart(
  plan: DcpWritePlan,
  dst: Location,
  part: Part,
  opts: { tracker: ProgressTracker; concurrency: number },
  onRankWritten: (rank: number) => Promise<void>,
): Promise<string[]> {
  const global = planGlobal(plan);
  const mine = [...global.ranks.keys()].filter((rank) => ownsFile(part, rank));
  const perRank = await runLimited(
    mine.map((rank) => async () => {
      const entries = await writeRankFile(dst.storage, dst.path, rank, global.ranks[rank], global.stateDictMetadata);
      await onRankWritten(rank);
      opts.tracker.fileDone(rankFileName(rank));
      return entries;
    }),
    opts.concurrency,
  );
  const storageData = new Map<string, StorageEntry>();
  for (const e of perRank.flat()) storageData.set(storageKey(e.fqn, e.offsets), e);
  const written = mine.map((rank) => joinPath(dst.path, rankFileName(rank)));
  const partial: DcpMetadata = {
    stateDictMetadata: global.stateDictMetadata,
    plannerData: plan.plannerData ?? null,
    storageData,
    storageMeta: null,
    version: DCP_VERSION,
  };
  const manifest = joinPath(dst.path, partManifestName(part, "metadata"));
  await dst.storage.writeAll(manifest, encodeMetadata(partial));
  return [...written, manifest];
}
