import type { Box } from "../tensor/mod.ts";
import { boxNumel, intersectBoxes, numel } from "../tensor/mod.ts";

/** What is wrong with a set of chunks meant to tile a tensor. */
export interface TilingProblem {
  /** The error code a reader throws for it. */
  code: "E_SHAPE" | "E_OUT_OF_RANGE" | "E_OVERLAP" | "E_GAP";
  /** Which rule is broken. */
  kind: "rank" | "out_of_bounds" | "overlap" | "gap";
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
  const overlaps = overlappingPairs(shape, inBounds);
  for (const [a, b] of overlaps) {
    problems.push({
      code: "E_OVERLAP",
      kind: "overlap",
      message: `chunks at [${a.offsets}] and [${b.offsets}] overlap`,
    });
  }
  const mustCover = boxes.length === 0 || mode === "exact" || (mode === "sharded" && boxes.length > 1);
  const covered = inBounds.reduce((sum, b) => sum + boxNumel(b), 0);
  const total = numel(shape);
  if (mustCover && overlaps.length === 0 && covered < total) {
    problems.push({ code: "E_GAP", kind: "gap", message: `chunks cover ${covered} of ${total} elements` });
  }
  return problems;
}

/** Sweeps along the largest dimension so only chunks whose ranges meet there are compared. */
function overlappingPairs(shape: readonly number[], boxes: readonly Box[]): [Box, Box][] {
  const sweep = shape.reduce((best, s, d) => (s > shape[best] ? d : best), 0);
  const sorted = [...boxes].sort((a, b) => a.offsets[sweep] - b.offsets[sweep]);
  const pairs: [Box, Box][] = [];
  const active: Box[] = [];
  for (const c of sorted) {
    const start = c.offsets[sweep];
    for (let i = active.length - 1; i >= 0; i--) {
      const other = active[i];
      if (other.offsets[sweep] + other.sizes[sweep] <= start) active.splice(i, 1);
      else if (intersectBoxes(c, other)) pairs.push([other, c]);
    }
    active.push(c);
  }
  return pairs;
}
