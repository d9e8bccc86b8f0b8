/**
 * Which saved chunks a box read of one DCP tensor touches, checked against the items that hold them before
 * a single byte of the result is allocated. `.metadata` is untrusted: its sizes are only believed as far as
 * the items' real bytes can back them.
 */
import { itemsize } from "../dtype/mod.ts";
import { FormatError, IntegrityError, UsageError } from "../errors/mod.ts";
import { MAX_READ_BYTES } from "../storage/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { boxNumel, intersectBoxes } from "../tensor/mod.ts";
import type { StorageEntry, TensorEntryMeta } from "./metadata.ts";

/** One saved chunk's share of a request: `region` is in global coordinates. */
export interface ChunkPart {
  chunk: number;
  region: Box;
  item: StorageEntry;
}

export interface ReadPlanContext {
  fqn: string;
  entry: TensorEntryMeta;
  /** The `storage_data` item of a chunk (E_METADATA when there is none). */
  itemOf(offsets: number[]): StorageEntry;
  /** The data file of an item, for error messages. */
  filePath(item: StorageEntry): string;
  metadataPath: string;
}

/** The request must fit in one ArrayBuffer (unless the caller brought the destination). */
export function checkResultSize(ctx: ReadPlanContext, bytes: number, what: string, hasOut: boolean): void {
  if (hasOut || bytes <= MAX_READ_BYTES) return;
  throw new UsageError(
    "E_USAGE",
    `${what} of '${ctx.fqn}' is ${bytes} bytes, more than one buffer may hold (${MAX_READ_BYTES}); ` +
      `read it in boxes with readTensor('${ctx.fqn}', box)`,
    { path: ctx.metadataPath },
  );
}

/**
 * PyTorch saves every chunk dense (FileSystemWriter clones a view whose storage is not exactly its bytes),
 * so an item always holds at least its chunk's bytes. A chunk larger than its item is a lie, even one that
 * an expanded (stride-0) view could honour: DCP never writes those.
 */
export function checkChunkItem(ctx: ReadPlanContext, chunk: number, item: StorageEntry): void {
  const c = ctx.entry.chunks[chunk];
  const where = { path: ctx.filePath(item), offset: item.info.offset };
  // A transformed (compressed) item is legitimately smaller than its chunk: refuse it for what it is.
  rejectTransforms(item, where.path);
  const chunkBytes = boxNumel(c) * itemsize(ctx.entry.dtype);
  if (chunkBytes > item.info.length) {
    throw new FormatError(
      "E_TRUNCATED",
      `'${ctx.fqn}' chunk ${chunk} [${c.sizes}] needs ${chunkBytes} bytes, its item has ${item.info.length}`,
      where,
    );
  }
}

/** Stream transforms (PyTorch's zstd extension) are not implemented: E_UNSUPPORTED. */
export function rejectTransforms(item: StorageEntry, path: string): void {
  const transforms = item.info.transformDescriptors ?? [];
  if (transforms.length > 0) {
    throw new FormatError("E_UNSUPPORTED", `item '${item.fqn}' uses stream transforms [${transforms.join(", ")}]`, {
      path,
      offset: item.info.offset,
    });
  }
}

/**
 * The chunks `want` overlaps, each checked against its item; together they must cover `want` exactly
 * (E_GAP) and fit in the distinct bytes of their items (E_OVERLAP): chunks that name one item, or items
 * that overlap in their file, cannot multiply a small file into a large result.
 */
export function planBoxRead(ctx: ReadPlanContext, want: Box): ChunkPart[] {
  const isz = itemsize(ctx.entry.dtype);
  const parts: ChunkPart[] = [];
  let covered = 0;
  ctx.entry.chunks.forEach((c, chunk) => {
    const region = intersectBoxes(c, want);
    if (!region || boxNumel(region) === 0) return;
    const item = ctx.itemOf(c.offsets);
    checkChunkItem(ctx, chunk, item);
    parts.push({ chunk, region, item });
    covered += boxNumel(region);
  });
  if (covered !== boxNumel(want)) {
    throw new IntegrityError(
      "E_GAP",
      `saved chunks of '${ctx.fqn}' cover ${covered} of ${boxNumel(want)} requested elements`,
      { path: ctx.metadataPath },
    );
  }
  const distinct = distinctItemBytes(ctx, parts.map((p) => p.item));
  if (covered * isz > distinct) {
    throw new IntegrityError(
      "E_OVERLAP",
      `chunks of '${ctx.fqn}' need ${covered * isz} bytes, their items overlap and hold ${distinct} distinct bytes`,
      { path: ctx.metadataPath },
    );
  }
  return parts;
}

/** The length of the union of the items' byte ranges, file by file. */
function distinctItemBytes(ctx: ReadPlanContext, items: StorageEntry[]): number {
  const byFile = new Map<string, [number, number][]>();
  for (const item of items) {
    const file = ctx.filePath(item);
    const ranges = byFile.get(file) ?? [];
    ranges.push([item.info.offset, item.info.offset + item.info.length]);
    byFile.set(file, ranges);
  }
  let total = 0;
  for (const ranges of byFile.values()) {
    ranges.sort((a, b) => a[0] - b[0]);
    let [lo, hi] = ranges[0];
    for (const [start, end] of ranges.slice(1)) {
      if (start > hi) {
        total += hi - lo;
        [lo, hi] = [start, end];
      } else hi = Math.max(hi, end);
    }
    total += hi - lo;
  }
  return total;
}

/**
 * Where `region` starts in `box`'s row-major layout (in elements) when it is one contiguous run there:
 * size 1 on every dimension before some k and `box`'s full size on every one after it. Else undefined.
 */
export function runStart(region: Box, box: Box): number | undefined {
  const rank = box.sizes.length;
  let k = 0;
  while (k < rank && region.sizes[k] === 1) k++;
  for (let d = k + 1; d < rank; d++) if (region.sizes[d] !== box.sizes[d]) return undefined;
  let start = 0;
  for (let d = 0; d < rank; d++) start = start * box.sizes[d] + (region.offsets[d] - box.offsets[d]);
  return start;
}

export function checkBox(fqn: string, e: TensorEntryMeta, box: Box): void {
  const ok = box.offsets.length === e.size.length && box.sizes.length === e.size.length &&
    box.offsets.every((o, d) =>
      Number.isSafeInteger(o) && Number.isSafeInteger(box.sizes[d]) && o >= 0 && box.sizes[d] >= 0 &&
      o + box.sizes[d] <= e.size[d]
    );
  if (!ok) {
    throw new UsageError("E_USAGE", `box at [${box.offsets}] size [${box.sizes}] is not inside '${fqn}' [${e.size}]`);
  }
}
