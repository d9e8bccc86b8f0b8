/**
 * The bytes that opening a DCP checkpoint's items reads, known from `.metadata` before any data file is
 * touched: each item is a torch archive whose opening reads its two ends (`ENDS_WINDOW` each, the whole item
 * when small). A reader over a storage where each read is a request fetches these ahead, coalesced (an item's
 * tail and the next item's head are neighbours, so one request serves both), instead of two requests per item
 * as each archive opens. The loader and the jobs' sources plan their header reads with this one rule.
 */
import { endsOf, joinPath, planRanges, type PrefetchStorage, type WantedRange } from "../storage/mod.ts";
import { ENDS_WINDOW } from "../torch/mod.ts";
import type { DcpMetadata } from "./metadata.ts";

/**
 * Bytes of item ends a reader of a whole checkpoint holds at most (32 KiB an item: 2048 items), fetched ahead
 * by `fetchOpenings`; the items past them open with requests of their own.
 */
export const OPENING_BYTES = 64 << 20;

export interface OpeningRangesOptions {
  /** The entries whose items will be opened (default: all). */
  select?: (fqn: string) => boolean;
  /**
   * At most this many bytes in all (default unbounded): items are taken in file and offset order while their
   * ends fit, and the rest open with reads of their own. Bounds what a reader holds for a huge checkpoint.
   */
  maxBytes?: number;
}

/**
 * The ends of the items `select` keeps (tensor chunks; values are read whole when used), and the first
 * item's head of every other data file, so that a reader learns every file's size from these answers.
 */
export function openingRanges(metadata: DcpMetadata, dir: string, opts: OpeningRangesOptions = {}): WantedRange[] {
  const items = [...metadata.storageData.values()]
    .map((item) => ({ item, file: joinPath(dir, item.info.relativePath) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.item.info.offset - b.item.info.offset));
  const wanted: WantedRange[] = [];
  const covered = new Set<string>();
  const firsts = new Map<string, WantedRange>();
  let budget = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  for (const { item, file } of items) {
    const { offset, length } = item.info;
    if (!firsts.has(file)) firsts.set(file, { path: file, offset, length: Math.min(length, ENDS_WINDOW) });
    if (item.offsets === null || !(opts.select?.(item.fqn) ?? true)) continue;
    const { headLength, tailStart } = endsOf(length, ENDS_WINDOW);
    const bytes = headLength + length - tailStart;
    if (bytes > budget) continue;
    budget -= bytes;
    wanted.push({ path: file, offset, length: headLength });
    if (tailStart < length) wanted.push({ path: file, offset: offset + tailStart, length: length - tailStart });
    covered.add(file);
  }
  for (const [file, first] of firsts) if (!covered.has(file)) wanted.push(first);
  return wanted;
}

/**
 * Fetches into `view` the ends of the items of `metadata` (at most `OPENING_BYTES` of them), in coalesced
 * requests, `inFlight` at a time: what the jobs read through before opening the items of a checkpoint in a
 * remote storage (`Storage.remote`).
 */
export async function fetchOpenings(
  view: PrefetchStorage,
  dir: string,
  metadata: DcpMetadata,
  inFlight?: number,
): Promise<void> {
  await view.fetch(planRanges(openingRanges(metadata, dir, { maxBytes: OPENING_BYTES })), inFlight);
}
