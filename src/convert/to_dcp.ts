import type { DcpMetadata, DcpTensorChunkItem, DcpWriteItem, DcpWritePlan, StatePath, StorageEntry } from "../dcp/mod.ts";
import { DCP_VERSION, encodeMetadata, planGlobal, storageKey, writeDcp } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { saveTorch } from "../torch/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { boxNumel } from "../tensor/mod.ts";
import type { Layout } from "./layout.ts";
import type { Location } from "./location.ts";
import type { Part } from "./part.ts";
import { ownsFile, partManifestName } from "./part.ts";
import type { ProgressTracker } from "./progress.ts";
import type { Selected } from "./select.ts";
import type { TensorSource, ValueEntry } from "./source_types.ts";
import type { TargetTensor } from "./targets.ts";
import { readTargetBox } from "./targets.ts";

function isChunk(item: DcpWriteItem): item is DcpTensorChunkItem {
  return "globalShape" in item;
}

export interface DcpOutputOptions {
  layout: Layout;
  engine: Engine;
  part?: Part;
  /** Object paths for `planner_data`, by output name. */
  plannerData: Map<string, StatePath> | null;
  tracker: ProgressTracker;
}

/**
 * The write plan for DCP output: every target tensor cut into the layout's boxes (each box read lazily, when
 * its rank's file is written), values on rank 0 — DCP BYTE_IO items copied verbatim, other values pickled.
 */
export async function buildDcpPlan(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  opts: DcpOutputOptions,
): Promise<DcpWritePlan> {
  const ranks: DcpWriteItem[][] = Array.from({ length: opts.layout.ranks }, () => []);
  for (const v of values) {
    const stored = v.entry.stored;
    if (stored && source.format === "dcp") {
      ranks[0].push({ fqn: v.name, raw: await source.storage.read(stored.file, stored.offset, stored.length) });
    } else {
      ranks[0].push({ fqn: v.name, value: await source.readValue(v.entry.name) });
    }
  }
  for (const t of targets) {
    for (const box of opts.layout.boxesFor(t.name, t.shape)) {
      ranks[box.rank].push({
        fqn: t.name,
        dtype: t.dtype,
        globalShape: [...t.shape],
        offsets: box.offsets,
        sizes: box.sizes,
        data: async () => {
          const data = await readTargetBox(source, t, box, opts.engine);
          opts.tracker.add(boxNumel(box) * itemsize(t.dtype), t.name);
          return data;
        },
      });
    }
  }
  return { ranks, plannerData: opts.plannerData };
}

/** Writes DCP output; with a part, only this part's rank files plus a partial metadata for `finalize`. */
export async function writeDcpOutput(
  source: TensorSource,
  targets: readonly TargetTensor[],
  values: readonly Selected<ValueEntry>[],
  dst: Location,
  opts: DcpOutputOptions,
): Promise<string[]> {
  const plan = await buildDcpPlan(source, targets, values, opts);
  if (!opts.part) {
    await writeDcp(dst.storage, dst.path, plan);
    // Every rank has a file, empty when dedup left it nothing (as PyTorch's writer does).
    return [...plan.ranks.map((_, r) => joinPath(dst.path, `__${r}_0.distcp`)), joinPath(dst.path, ".metadata")];
  }
  return await writeDcpPart(plan, dst, opts.part, opts.tracker);
}

/**
 * One part of a multi-machine DCP write: every part derives the same global plan, writes the rank files it
 * owns (rank % w === r) and leaves `.webdcp-part-r-of-w.metadata`, a partial `.metadata` pickle of its
 * items that `finalize` merges. Ranks a part does not own are never read.
 */
async function writeDcpPart(plan: DcpWritePlan, dst: Location, part: Part, tracker: ProgressTracker): Promise<string[]> {
  const global = planGlobal(plan);
  const storageData = new Map<string, StorageEntry>();
  const written: string[] = [];
  for (const [rank, items] of global.ranks.entries()) {
    if (!ownsFile(part, rank)) continue;
    const relativePath = `__${rank}_0.distcp`;
    const sink = await dst.storage.create(joinPath(dst.path, relativePath));
    try {
      for (const item of items) {
        const offset = sink.position;
        if ("raw" in item) await sink.write(item.raw);
        else if (!isChunk(item)) await saveTorch(sink, item.value);
        else {
          const data = typeof item.data === "function" ? await item.data() : item.data;
          await saveTorch(sink, { dtype: item.dtype, shape: [...item.sizes], data });
        }
        const offsets = isChunk(item) ? [...item.offsets] : null;
        const entry = global.stateDictMetadata.get(item.fqn);
        const index = offsets && entry?.kind === "tensor"
          ? entry.chunks.findIndex((c) => c.offsets.every((o, d) => o === offsets[d]))
          : null;
        storageData.set(storageKey(item.fqn, offsets), {
          fqn: item.fqn,
          offsets,
          index,
          info: { relativePath, offset, length: sink.position - offset },
        });
      }
      await sink.close();
    } catch (e) {
      await sink.abort().catch(() => {});
      throw e;
    }
    tracker.fileDone(relativePath);
    written.push(joinPath(dst.path, relativePath));
  }
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
