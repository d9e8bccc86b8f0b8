/**
 * State-dict flattening with PyTorch >= 2.4 rules (`flatten_state_dict` / `set_element`): nested mappings
 * become dotted FQNs and the object path of each leaf is kept as `planner_data`. A `PyTuple` is not a
 * mapping or a list, so it is always a leaf, even around tensors, as in PyTorch.
 */
import { FormatError, UsageError } from "../errors/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import { isTensor } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import type { StatePath } from "./metadata.ts";

/** A leaf of a state dict: a tensor (saved as chunks) or any other value (saved as BYTE_IO). */
export type StateLeaf = Tensor | PyValue;

/** A nested state dict: `Map`s and plain objects are both mappings. */
export type StateDict = Map<PyValue, unknown> | { readonly [key: string]: unknown };

/** A state dict flattened as DCP flattens it. */
export interface FlatStateDict {
  /** FQN -> leaf, in traversal order. */
  entries: Map<string, StateLeaf>;
  /** FQN -> object path (PyTorch's `planner_data`). */
  plannerData: Map<string, StatePath>;
}

/** Flattens a nested state dict with PyTorch's rules (dotted keys, list indices), keeping each leaf's object path. */
export function flattenStateDict(stateDict: StateDict): FlatStateDict {
  const entries = new Map<string, StateLeaf>();
  const plannerData = new Map<string, StatePath>();
  const emit = (path: StatePath, leaf: StateLeaf) => {
    const fqn = path.map(String).join(".");
    if (entries.has(fqn)) throw new UsageError("E_USAGE", `duplicated flatten key '${fqn}'`);
    entries.set(fqn, leaf);
    plannerData.set(fqn, path);
  };
  const visit = (path: StatePath, value: unknown) => {
    if (isMapping(value)) {
      for (const [k, v] of mappingEntries(value)) visit([...path, keyText(k, path)], v);
    } else if (Array.isArray(value) && !isTerminalList(value)) {
      value.forEach((v, i) => visit([...path, i], v));
    } else {
      emit(path, value as StateLeaf);
    }
  };
  if (!isMapping(stateDict)) throw new UsageError("E_USAGE", "a state dict must be a Map or a plain object");
  for (const [k, v] of mappingEntries(stateDict)) visit([keyText(k, [])], v);
  return { entries, plannerData };
}

/**
 * Rebuilds the nested structure from flat entries, like PyTorch's `set_element`: string path elements make
 * `Map`s, int elements make arrays (padded with `null`). Without planner data every FQN stays top-level.
 */
export function unflattenStateDict(
  entries: Map<string, StateLeaf>,
  plannerData: Map<string, StatePath> | null,
): Map<string, unknown> {
  const root = new Map<string, unknown>();
  // Holes are possible (empty dicts vanish on save), but an index far beyond the entry count is hostile.
  const maxIndex = entries.size * 16 + 1024;
  for (const [fqn, value] of entries) {
    const path = plannerData?.get(fqn) ?? [fqn];
    if (path.length === 0) throw new FormatError("E_METADATA", `planner_data path of '${fqn}' is empty`);
    let container: Map<string, unknown> | unknown[] = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      const last = i === path.length - 1;
      const fresh = () => (typeof path[i + 1] === "number" ? [] : new Map<string, unknown>());
      if (container instanceof Map) {
        if (typeof key !== "string") throw badPath(fqn, path, "an int index into a dict");
        if (last) container.set(key, value);
        else {
          if (!container.has(key)) container.set(key, fresh());
          container = childContainer(container.get(key), fqn, path);
        }
      } else {
        if (typeof key !== "number") throw badPath(fqn, path, "a str key into a list");
        if (!Number.isSafeInteger(key) || key < 0 || key > maxIndex) throw badPath(fqn, path, `list index ${key}`);
        while (container.length <= key) container.push(null);
        if (last) container[key] = value;
        else {
          if (container[key] === null) container[key] = fresh();
          container = childContainer(container[key], fqn, path);
        }
      }
    }
  }
  return root;
}

function childContainer(v: unknown, fqn: string, path: StatePath): Map<string, unknown> | unknown[] {
  if (v instanceof Map || Array.isArray(v)) return v as Map<string, unknown> | unknown[];
  throw badPath(fqn, path, "a path through a leaf value");
}

function badPath(fqn: string, path: StatePath, what: string): FormatError {
  return new FormatError("E_METADATA", `planner_data path ${JSON.stringify(path)} of '${fqn}' uses ${what}`);
}

/** Maps and plain objects are mappings; tensors (plain objects too) and pickle value classes are not. */
export function isMapping(v: unknown): v is StateDict {
  if (v instanceof Map) return true;
  if (typeof v !== "object" || v === null || Array.isArray(v) || isTensor(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function mappingEntries(m: StateDict): Iterable<[unknown, unknown]> {
  return m instanceof Map ? m.entries() : Object.entries(m);
}

/** Python's `str(key)` for the key types a state dict uses. */
function keyText(k: unknown, path: StatePath): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  if (typeof k === "boolean") return k ? "True" : "False";
  throw new UsageError("E_USAGE", `state dict key of type ${typeof k} under '${path.join(".")}' has no FQN text`);
}

/** A list is terminal (one BYTE_IO leaf) unless it holds a tensor, a mapping or a non-terminal list. */
function isTerminalList(list: readonly unknown[]): boolean {
  for (const v of list) {
    if (isTensor(v) || isMapping(v)) return false;
    if (Array.isArray(v) && !isTerminalList(v)) return false;
  }
  return true;
}
