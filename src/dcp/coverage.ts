import type { Box } from "../tensor/mod.ts";
import { boxNumel, intersectBoxes } from "../tensor/mod.ts";
import { numel } from "../tensor/mod.ts";

/** What is wrong with a set of chunks meant to tile a tensor exactly once. */
export interface TilingProblem {
  kind: "out_of_bounds" | "overlap" | "gap" | "rank";
  message: string;
}

/**
 * Checks that `boxes` lie inside `shape`, do not overlap, and cover every element. Zero-size boxes are allowed
 * (uneven sharding over more ranks than rows). A 0-d tensor needs exactly one box.
 */
export function checkTiling(shape: readonly number[], boxes: readonly Box[]): TilingProblem[] {
  const problems: TilingProblem[] = [];
  const where = (b: Box) => `offsets [${b.offsets.join(", ")}] sizes [${b.sizes.join(", ")}]`;
  if (shape.length === 0) {
    if (boxes.length !== 1) {
      problems.push({ kind: boxes.length === 0 ? "gap" : "overlap", message: `0-d tensor has ${boxes.length} chunks` });
    }
    return problems;
  }
  const inBounds: Box[] = [];
  for (const b of boxes) {
    if (b.offsets.length !== shape.length || b.sizes.length !== shape.length) {
      problems.push({ kind: "rank", message: `chunk ${where(b)} does not have ${shape.length} dimensions` });
    } else if (b.offsets.some((o, d) => o < 0 || b.sizes[d] < 0 || o + b.sizes[d] > shape[d])) {
      problems.push({ kind: "out_of_bounds", message: `chunk ${where(b)} reaches outside [${shape.join(", ")}]` });
    } else if (boxNumel(b) > 0) {
      inBounds.push(b);
    }
  }
  let covered = 0;
  for (let i = 0; i < inBounds.length; i++) {
    covered += boxNumel(inBounds[i]);
    for (let j = i + 1; j < inBounds.length; j++) {
      const x = intersectBoxes(inBounds[i], inBounds[j]);
      if (x) problems.push({ kind: "overlap", message: `chunks ${where(inBounds[i])} and ${where(inBounds[j])} overlap` });
    }
  }
  const total = numel(shape);
  if (!problems.some((p) => p.kind === "overlap") && covered < total) {
    problems.push({ kind: "gap", message: `chunks cover ${covered} of ${total} elements` });
  }
  return problems;
}
