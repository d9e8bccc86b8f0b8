import type { Box } from "../tensor/mod.ts";
import { boxNumel, numel } from "../tensor/mod.ts";

/** What is wrong with a set of chunks meant to tile a tensor. */
export interface TilingProblem {
  /** The error code a reader throws for it. */
  code: "E_SHAPE" | "E_OUT_OF_RANGE" | "E_OVERLAP" | "E_GAP" | "E_UNSUPPORTED";
  /** Which rule is broken (`unchecked`: an irregular layout too large to check for overlaps). */
  kind: "rank" | "out_of_bounds" | "overlap" | "gap" | "unchecked";
  /** What is wrong, for people. */
  message: string;
}

/**
 * When the chunks must cover every element: `"exact"` always (a layout to write, a checkpoint to verify, as
 * PyTorch validates a save plan; a 0-d tensor then needs exactly one chunk); `"sharded"` only when there are
 * several chunks (what loading accepts: a lone chunk may be a partial save); `"never"`, bounds and overlaps
 * only. In every mode a tensor with elements but no chunks has a gap.
 */
export type TilingMode = "exact" | "sharded" | "never";

/**
 * The tiling rule of chunks, in one place: each inside `shape` with its rank, none overlapping another, and
 * together covering the tensor as `mode` asks. Zero-size chunks are allowed (uneven sharding over more
 * ranks than rows). Returns every problem found; readers throw the first, `verify` reports them all.
 */
export function checkTiling(
  shape: readonly number[],
  boxes: readonly Box[],
  mode: TilingMode = "exact",
): TilingProblem[] {
  const problems: TilingProblem[] = [];
  const where = (b: Box) => `chunk at [${b.offsets.join(", ")}] size [${b.sizes.join(", ")}]`;
  const inBounds: Box[] = [];
  for (const b of boxes) {
    if (b.offsets.length !== shape.length || b.sizes.length !== shape.length) {
      problems.push({
        code: "E_SHAPE",
        kind: "rank",
        message: `${where(b)} has ${b.sizes.length} dimensions, the tensor ${shape.length}`,
      });
    } else if (b.offsets.some((o, d) => o < 0 || b.sizes[d] < 0 || o + b.sizes[d] > shape[d])) {
      problems.push({
        code: "E_OUT_OF_RANGE",
        kind: "out_of_bounds",
        message: `${where(b)} exceeds tensor size [${shape.join(", ")}]`,
      });
    } else if (boxNumel(b) > 0) {
      inBounds.push(b);
    }
  }
  if (shape.length === 0) {
    // PyTorch saves a 0-d tensor as one chunk with empty offsets and sizes.
    if (mode === "exact" && boxes.length !== 1) {
      const kind = boxes.length === 0 ? "gap" : "overlap";
      problems.push({
        code: kind === "gap" ? "E_GAP" : "E_OVERLAP",
        kind,
        message: `0-d tensor has ${boxes.length} chunks`,
      });
    }
    return problems;
  }
  // One overlap is reported, not all: n copies of one chunk would make n^2 / 2 of them.
  const overlap = firstOverlap(inBounds, shape.length);
  if (overlap === UNCHECKED) {
    problems.push({
      code: "E_UNSUPPORTED",
      kind: "unchecked",
      message: `${inBounds.length} chunks split the tensor along 3 or more dimensions, not as a grid: ` +
        `too many to check for overlaps`,
    });
    return problems;
  }
  if (overlap !== undefined) {
    const [a, b] = overlap.map((i) => inBounds[i]);
    problems.push({
      code: "E_OVERLAP",
      kind: "overlap",
      message: `chunks at [${a.offsets}] and [${b.offsets}] overlap`,
    });
  }
  const mustCover = boxes.length === 0 || mode === "exact" || (mode === "sharded" && boxes.length > 1);
  const covered = inBounds.reduce((sum, b) => sum + boxNumel(b), 0);
  const total = numel(shape);
  if (mustCover && overlap === undefined && covered < total) {
    problems.push({ code: "E_GAP", kind: "gap", message: `chunks cover ${covered} of ${total} elements` });
  }
  return problems;
}

function intersects(a: Box, b: Box, rank: number): boolean {
  for (let d = 0; d < rank; d++) {
    if (a.offsets[d] >= b.offsets[d] + b.sizes[d] || b.offsets[d] >= a.offsets[d] + a.sizes[d]) return false;
  }
  return true;
}

/** Chunk pairs an irregular layout of 3+ dimensions may cost before it is refused (a fraction of a second). */
const MAX_PAIR_CHECKS = 1 << 24;
const UNCHECKED = "unchecked";

/**
 * Two of the (in-bounds, non-empty) chunks that overlap, as indices, or undefined; O(n log n) for the layouts
 * checkpoints have (a hostile `.metadata` may list tens of thousands of chunks of one tensor, or one chunk
 * many times, where comparing pairs takes minutes). A grid (along every dimension, two chunks' ranges are
 * equal or disjoint: every sharding PyTorch plans) overlaps exactly where two chunks hold the same cell.
 * Otherwise chunks are swept along the dimension with the most distinct offsets and those meeting the sweep
 * line kept ordered along a second one: for layouts split along at most two dimensions they are disjoint
 * there, so a new chunk is compared with its two neighbours only; an irregular layout split along three or
 * more compares it with every chunk on the line, up to `MAX_PAIR_CHECKS` pairs (then `UNCHECKED`).
 */
function firstOverlap(boxes: readonly Box[], rank: number): [number, number] | undefined | typeof UNCHECKED {
  const live = boxes.map((_, i) => i);
  if (live.length < 2) return undefined;
  const cells = gridCells(boxes, rank);
  if (cells !== undefined) {
    const first = new Map<string, number>();
    for (const i of live) {
      const j = first.get(cells[i]);
      if (j !== undefined) return [j, i];
      first.set(cells[i], i);
    }
    return undefined;
  }
  let pairs = 0;
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
      if ((pairs += line.length) > MAX_PAIR_CHECKS) return UNCHECKED;
      for (const j of line) if (intersects(boxes[j], boxes[i], rank)) return [j, i];
    }
    line.splice(at, 0, i);
    heapPush(ends, i, endOf);
  }
  return undefined;
}

/**
 * Each chunk's cell (its range's index along every dimension) when the chunks form a grid: along each
 * dimension, the distinct ranges are disjoint. Undefined when they do not.
 */
function gridCells(boxes: readonly Box[], rank: number): string[] | undefined {
  const cells = boxes.map(() => "");
  const order = boxes.map((_, i) => i);
  for (let d = 0; d < rank; d++) {
    const o = (i: number) => boxes[i].offsets[d];
    const n = (i: number) => boxes[i].sizes[d];
    order.sort((x, y) => o(x) - o(y) || n(x) - n(y));
    let range = 0;
    for (let r = 0; r < order.length; r++) {
      const i = order[r], prev = order[r - 1];
      if (r > 0 && (o(i) !== o(prev) || n(i) !== n(prev))) {
        if (o(prev) + n(prev) > o(i)) return undefined;
        range++;
      }
      cells[i] += `${range},`;
    }
  }
  return cells;
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
  const last = heap.pop() as number; // heap is not empty: top was read from it
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
