/**
 * One rank's data file, `__<rank>_0.distcp`: its items as complete `torch.save` archives back to back (with
 * zero padding before a chunk that asks for a page offset), published only when all are written. Shared by whole saves (`writeDcp`) and by multi-machine part writes.
 */
import { itemsize } from "../dtype/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { ByteSink, Storage } from "../storage/mod.ts";
import { joinPath, writeFile } from "../storage/mod.ts";
import { numel } from "../tensor/mod.ts";
import { type LazyTensor, saveTorch, torchDataOffset } from "../torch/mod.ts";
import type { EntryMeta, StorageEntry } from "./metadata.ts";
import { rankFileName } from "./rank_file.ts";
import type { DcpWriteItem } from "./write_plan.ts";
import { isTensorItem, PAGE_BYTES } from "./write_plan.ts";

/**
 * Writes `items` into `dir/__<rank>_0.distcp` and returns the storage entry of each item. `metadata` is the
 * global plan's, for each chunk's `MetadataIndex.index` hint. `onItem` hears each item's byte length.
 */
export async function writeRankFile(
  storage: Storage,
  dir: string,
  rank: number,
  items: readonly DcpWriteItem[],
  metadata: ReadonlyMap<string, EntryMeta>,
  onItem?: (item: DcpWriteItem, length: number) => void,
): Promise<StorageEntry[]> {
  const relativePath = rankFileName(rank);
  return await writeFile(storage, joinPath(dir, relativePath), async (sink) => {
    const entries: StorageEntry[] = [];
    for (const item of items) {
      await placeItem(sink, item);
      const offset = sink.position;
      await writeItem(sink, item);
      const length = sink.position - offset;
      const offsets = isTensorItem(item) ? [...item.offsets] : null;
      entries.push({
        fqn: item.fqn,
        offsets,
        index: offsets === null ? null : chunkPosition(metadata.get(item.fqn), offsets),
        info: { relativePath, offset, length },
      });
      onItem?.(item, length);
    }
    return entries;
  });
}

/** PyTorch's `MetadataIndex.index` hint: the chunk's position in `chunks`. */
function chunkPosition(entry: EntryMeta | undefined, offsets: readonly number[]): number | null {
  if (entry?.kind !== "tensor") return null;
  const i = entry.chunks.findIndex((c) => c.offsets.every((o, d) => o === offsets[d]));
  return i < 0 ? null : i;
}

/** Pads the file so that a chunk asking for a page offset has its data start there. */
async function placeItem(sink: ByteSink, item: DcpWriteItem): Promise<void> {
  if (!isTensorItem(item) || item.pageOffset === undefined) return;
  const want = await item.pageOffset();
  if (want === undefined) return;
  const layoutOnly: LazyTensor = {
    dtype: item.dtype,
    shape: [...item.sizes],
    read: () => Promise.resolve(new Uint8Array(0)),
  };
  const dataAt = sink.position + (torchDataOffset(layoutOnly) ?? 0);
  const pad = (((want - dataAt) % PAGE_BYTES) + PAGE_BYTES) % PAGE_BYTES;
  if (pad > 0) await sink.write(new Uint8Array(pad));
}

async function writeItem(sink: ByteSink, item: DcpWriteItem): Promise<void> {
  if ("raw" in item) return await sink.write(item.raw);
  if (!isTensorItem(item)) return await saveTorch(sink, item.value);
  const expected = numel(item.sizes) * itemsize(item.dtype);
  const data = typeof item.data === "function" ? await item.data() : item.data;
  if (data instanceof Uint8Array ? data.byteLength !== expected : !isAsyncIterable(data)) {
    throw new UsageError(
      "E_USAGE",
      `chunk of '${item.fqn}' at [${item.offsets}] needs ${expected} bytes, its data has ${
        data instanceof Uint8Array ? data.byteLength : "none"
      }`,
    );
  }
  const leaf: LazyTensor = { dtype: item.dtype, shape: [...item.sizes], read: () => Promise.resolve(data) };
  await saveTorch(sink, leaf);
}

function isAsyncIterable(v: unknown): v is AsyncIterable<Uint8Array> {
  return typeof (v as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === "function";
}
