/**
 * Whether chunks tile a tensor exactly once, in O(n log n) for the layouts checkpoints have (hostile
 * `.metadata` may list tens of thousands of chunks of one tensor, or the same chunk many times, and a
 * pairwise test then takes minutes). One overlap is reported, not all: n copies of one chunk would make
 * n^2 / 2 messages.
 */
import type { Box } from "../tensor/mod.ts";

/** What is wrong with a set of chunks meant to tile a tensor exactly once. */
export interface TilingFinding {
  kind: "rank" | "out_of_bounds" | "overlap" | "gap";
  message: string;
  /** Indices (into the given boxes) of the chunks concerned. */
  chunks: number[];
}

const where = (b: Box) => `offsets [${b.offsets.join(", ")}] sizes [${b.sizes.join(", ")}]`;

/**
 * Every chunk of the wrong rank and every chunk reaching outside `shape`; then, over the others, the first
 * overlap found, or else a gap when they cover fewer elements than the tensor has. Zero-size chunks are
 * allowed (uneven sharding over more ranks than rows); a 0-d tensor needs exactly one chunk.
 *
 * Overlaps: chunks are swept along the dimension with the most distinct offsets; the chunks that meet
 * the sweep line are kept ordered along a second dimension. For 1-d and 2-d tensors (and any layout
 * split along at most two dimensions) the chunks meeting the line are disjoint along the second
 * dimension, so each new chunk is compared with its two neighbours only: O(n log n). Layouts split along
 * three or more dimensions compare a new chunk with every chunk it meets on the line.
 */
export function findTilingProblems(shape: readonly number[], boxes: readonly Box[]): TilingFinding[] {
  const found: TilingFinding[] = [];
  if (shape.length === 0) {
    if (boxes.length !== 1) {
      found.push({
        kind: boxes.length === 0 ? "gap" : "overlap",
        message: `0-d tensor has ${boxes.length} chunks`,
        chunks: boxes.map((_, i) => i),
      });
    }
    return found;
  }
  const rank = shape.length;
  const live: number[] = [];
  let covered = 0;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    if (b.offsets.length !== rank || b.sizes.length !== rank) {
      found.push({ kind: "rank", message: `chunk ${where(b)} does not have ${rank} dimensions`, chunks: [i] });
      continue;
    }
    let volume = 1;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      const o = b.offsets[d], s = b.sizes[d];
      if (!(Number.isSafeInteger(o) && Number.isSafeInteger(s) && o >= 0 && s >= 0 && o + s <= shape[d])) inside = false;
      volume *= s;
    }
    if (!inside) {
      found.push({ kind: "out_of_bounds", message: `chunk ${where(b)} reaches outside [${shape.join(", ")}]`, chunks: [i] });
    } else if (volume > 0) {
      live.push(i);
      covered += volume;
    }
  }
  const overlap = firstOverlap(boxes, live, rank);
  if (overlap) {
    const [i, j] = overlap;
    found.push({ kind: "overlap", message: `chunks ${where(boxes[i])} and ${where(boxes[j])} overlap`, chunks: [i, j] });
    return found;
  }
  const total = shape.reduce((p, s) => p * s, 1);
  if (covered < total) found.push({ kind: "gap", message: `chunks cover ${covered} of ${total} elements`, chunks: [] });
  return found;
}

function intersects(a: Box, b: Box, rank: number): boolean {
  for (let d = 0; d < rank; d++) {
    if (a.offsets[d] >= b.offsets[d] + b.sizes[d] || b.offsets[d] >= a.offsets[d] + a.sizes[d]) return false;
  }
  return true;
}

/** Two in-bounds, non-empty chunks that overlap, or undefined. */
function firstOverlap(boxes: readonly Box[], live: readonly number[], rank: number): [number, number] | undefined {
  if (live.length < 2) return undefined;
  // Sweep along the dimension with the most distinct offsets; order the line along the next most split one.
  const distinct = Array.from({ length: rank }, (_, d) => new Set(live.map((i) => boxes[i].offsets[d])).size);
  const dims = distinct.map((n, d) => [n, d]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map(([, d]) => d);
  const a = dims[0];
  const b = rank > 1 ? dims[1] : a;
  const order = [...live].sort((x, y) => boxes[x].offsets[a] - boxes[y].offsets[a]);
  // Chunks meeting the sweep line, ordered by their start along `b`; disjoint along `b` when rank <= 2.
  const line: number[] = [];
  // Chunks on the line by where they end along `a` (a binary heap), to drop them once the line passes.
  const ends: number[] = [];
  const endOf = (i: number) => boxes[i].offsets[a] + boxes[i].sizes[a];
  const startB = (i: number) => boxes[i].offsets[b];
  const position = (i: number) => {
    let lo = 0, hi = line.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (startB(line[mid]) < startB(i) || (startB(line[mid]) === startB(i) && line[mid] < i)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const i of order) {
    const x = boxes[i].offsets[a];
    while (ends.length > 0 && endOf(ends[0]) <= x) {
      const gone = heapPop(ends, endOf);
      line.splice(position(gone), 1);
    }
    const at = position(i);
    if (rank <= 2) {
      if (at > 0 && intersects(boxes[line[at - 1]], boxes[i], rank)) return [line[at - 1], i];
      if (at < line.length && intersects(boxes[line[at]], boxes[i], rank)) return [line[at], i];
    } else {
      for (const j of line) if (intersects(boxes[j], boxes[i], rank)) return [j, i];
    }
    line.splice(at, 0, i);
    heapPush(ends, i, endOf);
  }
  return undefined;
}

function heapPush(heap: number[], v: number, key: (i: number) => number): void {
  heap.push(v);
  for (let c = heap.length - 1; c > 0;) {
    const p = (c - 1) >> 1;
    if (key(heap[p]) <= key(heap[c])) break;
    [heap[p], heap[c]] = [heap[c], heap[p]];
    c = p;
  }
}

function heapPop(heap: number[], key: (i: number) => number): number {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    for (let p = 0;;) {
      const l = 2 * p + 1, r = l + 1;
      let m = p;
      if (l < heap.length && key(heap[l]) < key(heap[m])) m = l;
      if (r < heap.length && key(heap[r]) < key(heap[m])) m = r;
      if (m === p) break;
      [heap[p], heap[m]] = [heap[m], heap[p]];
      p = m;
    }
  }
  return top;
}
