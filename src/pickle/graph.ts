/**
 * Decoded pickles are graphs, not trees: the memo lets a stream reference one container many times (30
 * levels of "two references to the level below" is 2^30 leaves in a few hundred bytes) or put a container
 * inside itself. `checkValueGraph` walks each object once, iteratively, and says what a tree walk of the
 * value would cost, so code that walks values as trees can refuse them before it starts.
 */
import type { ErrorLocation } from "../errors/mod.ts";
import { LimitError, type Limits } from "../limits/mod.ts";
import { PyObject, PyPersistent, PyReduce, PyTuple } from "./value.ts";

/** The values directly inside `v` (containers and the encoding-only records); none for anything else. */
export function valueChildren(v: unknown): readonly unknown[] {
  if (typeof v !== "object" || v === null) return NONE;
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (v instanceof Map) {
    const out: unknown[] = [];
    for (const [k, x] of v) out.push(k, x);
    return out;
  }
  if (v instanceof Set) return [...v.values()];
  if (v instanceof PyReduce) return [v.args];
  if (v instanceof PyObject) return v.state === undefined ? NONE : [v.state];
  if (v instanceof PyPersistent) return [v.pid];
  const proto = Object.getPrototypeOf(v);
  // Plain objects are the mappings of state dicts that callers build (a tensor's fields are scalars or flat).
  if (proto === Object.prototype || proto === null) return Object.values(v);
  return NONE;
}

const NONE: readonly unknown[] = Object.freeze([]);

export interface ValueGraphFacts {
  /** Distinct objects reachable from the root (the root included when it is one). */
  objects: number;
  /** Nodes a tree walk visits (shared objects counted each time they are met); capped at `maxValues + 1`. */
  treeNodes: number;
  /** Deepest nesting of containers (a scalar root is 0). */
  depth: number;
  /** Whether some container contains itself. */
  cyclic: boolean;
}

/**
 * Walks `root` once per object (no recursion) and throws a `LimitError` at `where` when its nesting passes
 * `maxDepth`, when references to objects already seen pass `maxMemoReferences`, or, with `tree: true`, when
 * walking it as a tree would visit more than `maxValues` nodes or never end (a cycle, reported as
 * exceeding `maxDepth`). Without `tree` a cycle is only reported in the result.
 */
export function checkValueGraph(
  root: unknown,
  limits: Limits,
  where: ErrorLocation,
  opts: { tree?: boolean; what?: string } = {},
): ValueGraphFacts {
  const what = opts.what ?? "value";
  // Post-order over objects: state 1 = on the current path, 2 = done (tree size and depth known).
  const state = new Map<object, { done: boolean; size: number; depth: number }>();
  const facts: ValueGraphFacts = { objects: 0, treeNodes: 1, depth: 0, cyclic: false };
  if (typeof root !== "object" || root === null) return facts;
  let sharedRefs = 0;
  type Frame = { obj: object; kids: readonly unknown[]; next: number; size: number; depth: number };
  const frames: Frame[] = [];
  const enter = (obj: object) => {
    if (frames.length + 1 > limits.maxDepth) {
      throw new LimitError("maxDepth", limits.maxDepth, `${what} nesting (more than ${limits.maxDepth} levels)`, where);
    }
    state.set(obj, { done: false, size: 1, depth: 0 });
    facts.objects++;
    frames.push({ obj, kids: valueChildren(obj), next: 0, size: 1, depth: 0 });
  };
  const cap = limits.maxValues + 1;
  enter(root);
  while (frames.length > 0) {
    const f = frames[frames.length - 1];
    if (f.next < f.kids.length) {
      const kid = f.kids[f.next++];
      if (typeof kid !== "object" || kid === null) {
        f.size = Math.min(cap, f.size + 1);
        continue;
      }
      const s = state.get(kid);
      if (s === undefined) {
        enter(kid);
        continue;
      }
      if (++sharedRefs > limits.maxMemoReferences) {
        throw new LimitError(
          "maxMemoReferences",
          limits.maxMemoReferences,
          `${what}: references to shared objects`,
          where,
        );
      }
      if (!s.done) {
        facts.cyclic = true;
        if (opts.tree) {
          throw new LimitError(
            "maxDepth",
            limits.maxDepth,
            `${what} contains itself (a cycle: unbounded nesting)`,
            where,
          );
        }
        continue;
      }
      f.size = Math.min(cap, f.size + s.size);
      f.depth = Math.max(f.depth, s.depth + 1);
      if (frames.length + f.depth > limits.maxDepth) {
        throw new LimitError("maxDepth", limits.maxDepth, `${what} nesting through shared objects`, where);
      }
      continue;
    }
    frames.pop();
    const s = state.get(f.obj)!;
    s.done = true;
    s.size = f.size;
    s.depth = f.depth;
    const parent = frames[frames.length - 1];
    if (parent !== undefined) {
      parent.size = Math.min(cap, parent.size + f.size);
      parent.depth = Math.max(parent.depth, f.depth + 1);
    }
    if (opts.tree && f.size > limits.maxValues) {
      throw new LimitError("maxValues", limits.maxValues, `${what} walked as a tree (shared objects expanded)`, where);
    }
  }
  const r = state.get(root)!;
  facts.treeNodes = r.size;
  facts.depth = r.depth + 1;
  return facts;
}
