/**
 * Writing a DCP folder as PyTorch's `FileSystemWriter` does: one `__<rank>_0.distcp` per rank holding
 * complete `torch.save` archives back to back (BYTE_IO first), then `.metadata` last via `.metadata.tmp`
 * and a rename, so a folder with `.metadata` is always complete. On failure nothing of this save remains.
 */
import { itemsize } from "../dtype/mod.ts";
import { StorageError, UsageError } from "../errors/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { ByteSink, Storage } from "../storage/mod.ts";
import { numel } from "../tensor/mod.ts";
import { saveTorch } from "../torch/mod.ts";
import { encodeMetadata } from "./encode_metadata.ts";
import type { DcpMetadata, EntryMeta, StorageEntry } from "./metadata.ts";
import { DCP_VERSION, storageKey } from "./metadata.ts";
import type { DcpWriteItem, DcpWritePlan } from "./write_plan.ts";
import { isTensorItem, planGlobal } from "./write_plan.ts";

export interface DcpWriteProgress {
  rank: number;
  fqn: string;
  itemsDone: number;
  itemsTotal: number;
  bytesWritten: number;
}

export interface WriteDcpOptions {
  onProgress?: (p: DcpWriteProgress) => void;
  /** Replace an existing checkpoint in `dir` (default true, like PyTorch); false fails with E_EXISTS. */
  overwrite?: boolean;
}

/** Writes the plan into `dir` and returns the metadata that was committed. */
export async function writeDcp(
  storage: Storage,
  dir: string,
  plan: DcpWritePlan,
  opts: WriteDcpOptions = {},
): Promise<DcpMetadata> {
  const global = planGlobal(plan);
  const metadataPath = joinPath(dir, ".metadata");
  const tmpPath = joinPath(dir, ".metadata.tmp");
  if (await storage.stat(metadataPath)) {
    if (opts.overwrite === false) throw new StorageError("E_EXISTS", "a checkpoint already exists", { path: metadataPath });
    // Drop the old commit marker first: its data files are about to be replaced.
    await storage.remove(metadataPath);
  }
  const itemsTotal = global.ranks.reduce((n, items) => n + items.length, 0);
  const storageData = new Map<string, StorageEntry>();
  const published: string[] = [];
  let sink: ByteSink | undefined;
  let itemsDone = 0;
  let bytesWritten = 0;
  try {
    for (const [rank, items] of global.ranks.entries()) {
      const relativePath = `__${rank}_0.distcp`;
      sink = await storage.create(joinPath(dir, relativePath));
      for (const item of items) {
        const offset = sink.position;
        await writeItem(sink, item);
        const length = sink.position - offset;
        const offsets = isTensorItem(item) ? [...item.offsets] : null;
        storageData.set(storageKey(item.fqn, offsets), {
          fqn: item.fqn,
          offsets,
          index: offsets === null ? null : chunkPosition(global.stateDictMetadata.get(item.fqn), offsets),
          info: { relativePath, offset, length },
        });
        bytesWritten += length;
        opts.onProgress?.({ rank, fqn: item.fqn, itemsDone: ++itemsDone, itemsTotal, bytesWritten });
      }
      const done = sink;
      sink = undefined;
      await done.close();
      published.push(joinPath(dir, relativePath));
    }
    const metadata: DcpMetadata = {
      stateDictMetadata: global.stateDictMetadata,
      plannerData: plan.plannerData ?? null,
      storageData,
      storageMeta: { checkpointId: dir, saveId: crypto.randomUUID(), loadId: null, modules: [] },
      version: DCP_VERSION,
    };
    await storage.writeAll(tmpPath, encodeMetadata(metadata));
    await storage.rename(tmpPath, metadataPath);
    return metadata;
  } catch (e) {
    await sink?.abort().catch(() => {});
    for (const p of [tmpPath, ...published]) await storage.remove(p).catch(() => {});
    throw e;
  }
}

/** PyTorch's `MetadataIndex.index` hint: the chunk's position in `chunks`. */
function chunkPosition(entry: EntryMeta | undefined, offsets: readonly number[]): number | null {
  if (entry?.kind !== "tensor") return null;
  const i = entry.chunks.findIndex((c) => c.offsets.every((o, d) => o === offsets[d]));
  return i < 0 ? null : i;
}

async function writeItem(sink: ByteSink, item: DcpWriteItem): Promise<void> {
  if ("raw" in item) return await sink.write(item.raw);
  if (!isTensorItem(item)) return await saveTorch(sink, item.value);
  const data = typeof item.data === "function" ? await item.data() : item.data;
  const expected = numel(item.sizes) * itemsize(item.dtype);
  if (!(data instanceof Uint8Array) || data.byteLength !== expected) {
    throw new UsageError(
      "E_USAGE",
      `chunk of '${item.fqn}' at [${item.offsets}] needs ${expected} bytes, its data has ${data?.byteLength}`,
    );
  }
  await saveTorch(sink, { dtype: item.dtype, shape: [...item.sizes], data });
}
