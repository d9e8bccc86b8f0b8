import type { DcpTensorChunkItem, DcpWriteItem, DcpWritePlan } from "../dcp/mod.ts";
import { commitDcp, METADATA_FILE, PAGE_BYTES, planGlobal, rankFileName, writeDcp, writeRankFile } from "../dcp/mod.ts";
import { dimSplitLayout } from "../dcp/mod.ts";
import type { Layout } from "../dcp/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { joinPath, sourceOrigin } from "../storage/mod.ts";
import type { StoredRange } from "../storage/mod.ts";
import type { BandJob } from "../pipeline/mod.ts";
import { BandPipeline, type DescriptorCaster, JobPlanner, regionJobs } from "../pipeline/mod.ts";
import { descriptorCasterFor } from "./descriptor_caster.ts";
import { runLimited } from "../tasks/mod.ts";
import type { ProgressTracker } from "../tasks/mod.ts";
import type { Location } from "../source/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import type { Part } from "./part.ts";
import { ownedFiles, partManifestName } from "./part.ts";
import { ChecksummingStorage, recordPartFiles } from "./part_files.ts";
import { checkCopiedValue } from "./value_safety.ts";
import type { WriteInput, Writer, WriterOptions } from "./writer.ts";

/** What planning a DCP write needs of the writer's options. */
interface DcpPlanOptions extends WriterOptions {
  layout: Layout;
}

/**
 * The write plan for DCP output: every target tensor cut into the layout's boxes, values on rank 0 — DCP
 * BYTE_IO items copied verbatim, other values pickled. Each box streams, when its rank's file gets to it,
 * as row bands through its rank's pipeline, so a band is prepared while the previous one is written and no
 * chunk is ever whole in memory; rank files written at the same time each have their own buffers. Where a
 * box's bytes are stored in the source is found while the rank files are written (a planner per rank, in
 * the order `planGlobal` gives the rank), so the first copies start once their own items are located, not
 * all of them: the plan itself (the metadata) needs only names, dtypes and boxes.
 */
async function buildDcpPlan(
  { source, targets, values, paths }: WriteInput,
  opts: DcpPlanOptions,
  writes: (rank: number) => boolean,
  caster: DescriptorCaster | undefined,
): Promise<DcpPlanned> {
  const ranks: DcpWriteItem[][] = Array.from({ length: opts.layout.ranks }, () => []);
  for (const v of values) {
    const stored = v.entry.stored;
    if (stored && source.format === "dcp") {
      const raw = await source.storage.read(stored.file, stored.offset, stored.length);
      if (!opts.allowUnsafeValues) await checkCopiedValue(raw, stored, v.entry.name);
      ranks[0].push({ fqn: v.name, raw });
    } else {
      ranks[0].push({ fqn: v.name, value: await source.readValue(v.entry.name) });
    }
  }
  // Filled once the plan (which the items close over) is complete.
  const pipelines: BandPipeline[] = [];
  const planners: JobPlanner<DcpWriteItem>[] = [];
  /** How each chunk's jobs are planned. */
  const locate = new Map<DcpWriteItem, () => Promise<BandJob[]>>();
  for (const t of targets) {
    for (const box of opts.layout.boxesFor(t.name, t.shape)) {
      const jobsOf = () => planners[box.rank].jobsOf(item);
      const item: DcpTensorChunkItem = {
        fqn: t.name,
        dtype: t.dtype,
        globalShape: [...t.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: async () => pipelines[box.rank].stream(await jobsOf(), (bytes) => opts.tracker.add(bytes, t.name)),
        pageOffset: async () => pageOffsetOf((await jobsOf())[0]?.stored ?? []),
      };
      locate.set(item, () => regionJobs(source, t, box, { ...opts, caster }));
      ranks[box.rank].push(item);
    }
  }
  const plan = { ranks, plannerData: paths };
  // Chunks of rank files this part does not write stay in the plan (the metadata is global) but are
  // never located.
  const written = planGlobal(plan).ranks.map((items, rank) => writes(rank) ? items.filter((i) => locate.has(i)) : []);
  for (const items of written) {
    const pipeline = new BandPipeline(source, opts.engine, [], { readAheadBytes: opts.bandBytes, caster });
    pipelines.push(pipeline);
    planners.push(
      new JobPlanner(
        items,
        (item) => (locate.get(item) as () => Promise<BandJob[]>)(),
        (jobs) => pipeline.append(jobs),
      ),
    );
  }
  // The order the rank files (written side by side) reach their chunks: round robin over the ranks.
  const copied: DcpPlanned["copied"] = [];
  for (let i = 0; written.some((items) => i < items.length); i++) {
    for (const [rank, items] of written.entries()) {
      if (i < items.length) copied.push(async () => (await planners[rank].jobsOf(items[i]))[0]?.stored ?? []);
    }
  }
  return { plan, pipelines, copied, stop: () => Promise.all(planners.map((p) => p.stop())).then(() => {}) };
}

/** A DCP write's plan, the pipelines its chunks stream through and what its planners locate. */
interface DcpPlanned {
  plan: DcpWritePlan;
  pipelines: BandPipeline[];
  /** The stored pieces of each chunk (none where it is made), in the order the writers reach them. */
  copied: Array<() => Promise<readonly StoredRange[]>>;
  /** Locates nothing more; resolves once nothing is being located. */
  stop(): Promise<void>;
}

/** CRC work running ahead of the writers. */
const PREFETCH_AT_ONCE = 2;

/**
 * Works out, ahead of the writers and in the order they will want them, the CRCs of the stored pieces the
 * copied chunks are made of: each needs the shorter side of its cut read, and a chunk's zip record cannot
 * be closed (its trailer written, the file moved on) before its CRC is known. Failures are left for the
 * writers to meet. `stop()` ends it early; it resolves once nothing more is being read.
 */
function prefetchChecksums(
  chunks: ReadonlyArray<() => Promise<readonly StoredRange[]>>,
): { done: Promise<void>; stop(): void } {
  let stopped = false;
  const tasks = chunks.map((storedOf) => async () => {
    const ranges = await storedOf().catch(() => []);
    for (const r of ranges) if (!stopped) await r.record?.crc32(r.offset, r.offset + r.length).catch(() => {});
  });
  return { done: runLimited(tasks, PREFETCH_AT_ONCE).then(() => {}), stop: () => void (stopped = true) };
}

/**
 * Where in a page the chunk's data should start for the kernel to copy it fastest: congruent with where its
 * largest stored piece starts in its source file (the other pieces then fall where they fall).
 */
function pageOffsetOf(ranges: readonly StoredRange[]): number | undefined {
  if (ranges.length === 0) return undefined;
  let before = 0;
  let best = { length: -1, at: 0 };
  for (const r of ranges) {
    if (r.length > best.length) best = { length: r.length, at: sourceOrigin(r.source).offset + r.offset - before };
    before += r.length;
  }
  return ((best.at % PAGE_BYTES) + PAGE_BYTES) % PAGE_BYTES;
}

/** Writes DCP output; with a part, only this part's rank files plus a partial metadata for `finalize`. */
export const writeDcpOutput: Writer = async (input, dst, opts) => {
  const part = opts.part;
  const layout = opts.layout ?? dimSplitLayout(1);
  const writes = ownedFiles(part, rankBytes(input.targets, layout));
  // Casts of stored bytes by descriptor on the caster's workers, which work out each band's CRC-32 there.
  const caster = descriptorCasterFor(input.targets, opts, true);
  const { plan, pipelines, copied, stop } = await buildDcpPlan(input, { ...opts, layout }, writes, caster);
  const prefetch = prefetchChecksums(copied);
  try {
    if (!part) {
      await writeDcp(dst.storage, dst.path, plan, {
        concurrency: opts.concurrency,
        onRankWritten: (rank) => pipelines[rank].release(),
      });
      // Every rank has a file, empty when dedup left it nothing (as PyTorch's writer does).
      return [...plan.ranks.map((_, r) => joinPath(dst.path, rankFileName(r))), joinPath(dst.path, METADATA_FILE)];
    }
    return await writeDcpPart(plan, dst, part, writes, opts, (rank) => pipelines[rank].release());
  } finally {
    prefetch.stop();
    await prefetch.done;
    await stop();
    for (const p of pipelines) await p.release();
    await caster?.close();
  }
};

/**
 * One part of a multi-machine DCP write: every part derives the same global plan, writes the rank files it
 * owns (`ownedFiles`: balanced by bytes) through a `ChecksummingStorage`, lists them with their sizes and
 * CRC-32s (`recordPartFiles`, what
 * `finalize` checks) and leaves `.webdcp-part-r-of-w.metadata`, a partial `.metadata` pickle of its items
 * that `finalize` merges. Ranks a part does not own are never read.
 */
async function writeDcpPart(
  plan: DcpWritePlan,
  dst: Location,
  part: Part,
  owns: (rank: number) => boolean,
  opts: { tracker: ProgressTracker; concurrency: number },
  onRankWritten: (rank: number) => Promise<void>,
): Promise<string[]> {
  const global = planGlobal(plan);
  const mine = [...global.ranks.keys()].filter(owns);
  const sums = new ChecksummingStorage(dst.storage);
  const perRank = await runLimited(
    mine.map((rank) => async () => {
      const entries = await writeRankFile(sums, dst.path, rank, global.ranks[rank], global.stateDictMetadata);
      await onRankWritten(rank);
      opts.tracker.fileDone(rankFileName(rank));
      return entries;
    }),
    opts.concurrency,
  );
  const written = mine.map((rank) => joinPath(dst.path, rankFileName(rank)));
  const partial = {
    stateDictMetadata: global.stateDictMetadata,
    plannerData: plan.plannerData ?? null,
    storageData: perRank.flat(),
  };
  const files = await recordPartFiles(dst, part, written, sums);
  const manifest = await commitDcp(dst.storage, dst.path, partial, { partFile: partManifestName(part, "metadata") });
  return [...written, files, manifest.path];
}

/** Tensor bytes each rank file of the layout holds: what `--part` balances. */
function rankBytes(targets: readonly TargetTensor[], layout: Layout): number[] {
  const bytes = new Array<number>(layout.ranks).fill(0);
  for (const t of targets) {
    for (const box of layout.boxesFor(t.name, t.shape)) {
      bytes[box.rank] += box.sizes.reduce((n, s) => n * s, itemsize(t.dtype));
    }
  }
  return bytes;
}
