import type { StatePath } from "./metadata.ts";
import { dictAttributes, type PyValue, setDictAttributes } from "../pickle/mod.ts";

/** Attributes pickled with one nested dict of a state dict (a module's `_metadata`), and where that dict is. */
export interface DictAttributes {
  /** Keys from the root to the dict, as `flattenStateDict` spells them (`[]` is the root). */
  path: StatePath;
  /** The pickled attributes (Python keys and values), in their saved order. */
  attributes: Map<PyValue, PyValue>;
}

/** Every dict reached through dicts from `value` that carries attributes (a walk with a stack, not recursion). */
export function collectDictAttributes(value: unknown): DictAttributes[] {
  const found: DictAttributes[] = [];
  const seen = new Set<unknown>();
  const stack: Array<[unknown, StatePath]> = [[value, []]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (!(v instanceof Map) || seen.has(v)) continue;
    seen.add(v);
    const attributes = dictAttributes(v);
    if (attributes !== undefined) found.push({ path, attributes });
    for (const [k, x] of v) {
      if (x instanceof Map && (typeof k === "string" || typeof k === "number")) stack.push([x, [...path, String(k)]]);
    }
  }
  return found;
}

/** Gives the dicts of a rebuilt state dict the attributes found at the same paths; paths not rebuilt are skipped. */
export function applyDictAttributes(nested: Map<string, unknown>, found: readonly DictAttributes[]): void {
  for (const { path, attributes } of found) {
    let at: unknown = nested;
    for (const key of path) at = at instanceof Map ? at.get(String(key)) : undefined;
    if (at instanceof Map) setDictAttributes(at as Map<PyValue, PyValue>, attributes);
  }
}
