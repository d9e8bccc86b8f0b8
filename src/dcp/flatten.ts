/**
 * State-dict flattening with PyTorch >= 2.4 rules (`flatten_state_dict` / `set_element`): nested mappings
 * become dotted FQNs and the object path of each leaf is kept as `planner_data`. A `PyTuple` is not a
 * mapping or a list, so it is always a leaf, even around tensors, as in PyTorch.
 */
import { FormatError, UsageError } from "../errors/mod.ts";
import { type Limits, resolveLimits } from "../limits/mod.ts";
import { checkValueGraph } from "../pickle/mod.ts";
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

export interface FlattenOptions {
  /** The file the state dict was read from, for errors. */
  path?: string;
  /** `maxDepth`, `maxValues` and `maxMemoReferences` bound the walk (see `Limits`). */
  limits?: Partial<Limits>;
}

/**
 * Walks the state dict as a tree, as PyTorch does (a mapping referenced twice yields two sets of FQNs), so
 * the graph is measured first: a cycle, a nesting past `maxDepth` or a tree past `maxValues` is refused
 * before any work. The walk itself keeps its own stack.
 */
export function flattenStateDict(stateDict: StateDict, opts: FlattenOptions = {}): FlatStateDict {
  if (!isMapping(stateDict)) throw new UsageError("E_USAGE", "a state dict must be a Map or a plain object");
  checkValueGraph(stateDict, resolveLimits(opts.limits), { path: opts.path }, { tree: true, what: "state dict" });
  const entries = new Map<string, StateLeaf>();
  const plannerData = new Map<string, StatePath>();
  const isTerminal = terminalListTest();
  const todo: [StatePath, unknown][] = [];
  const pushChildren = (path: StatePath, value: StateDict) => {
    const kids = [...mappingEntries(value)];
    for (let i = kids.length - 1; i >= 0; i--) todo.push([[...path, keyText(kids[i][0], path, opts.path)], kids[i][1]]);
  };
  pushChildren([], stateDict);
  while (todo.length > 0) {
    const [path, value] = todo.pop()!;
    if (isMapping(value)) pushChildren(path, value);
    else if (Array.isArray(value) && !isTerminal(value)) {
      for (let i = value.length - 1; i >= 0; i--) todo.push([[...path, i], value[i]]);
    } else {
      const fqn = path.map(String).join(".");
      if (entries.has(fqn)) throw new UsageError("E_USAGE", `duplicated flatten key '${fqn}'`, { path: opts.path });
      entries.set(fqn, value as StateLeaf);
      plannerData.set(fqn, path);
    }
  }
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
function keyText(k: unknown, path: StatePath, file?: string): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  if (typeof k === "boolean") return k ? "True" : "False";
  const message = `state dict key of type ${typeof k} under '${path.join(".")}' has no FQN text`;
  // A caller's own state dict is a usage error; one read from a file is a file webdcp cannot represent.
  throw file === undefined
    ? new UsageError("E_USAGE", message)
    : new FormatError("E_UNSUPPORTED", message, { path: file });
}

/**
 * A list is terminal (one BYTE_IO leaf) unless it holds a tensor, a mapping or a non-terminal list. Answers
 * are remembered per list, so nested lists are looked at once each (callers rule out cycles first).
 */
function terminalListTest(): (list: readonly unknown[]) => boolean {
  const known = new Map<readonly unknown[], boolean>();
  return (root) => {
    const frames = [{ list: root, next: 0, terminal: true }];
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (known.has(f.list)) {
        frames.pop();
        continue;
      }
      if (!f.terminal || f.next >= f.list.length) {
        frames.pop();
        known.set(f.list, f.terminal);
        if (!f.terminal && frames.length > 0) frames[frames.length - 1].terminal = false;
        continue;
      }
      const v = f.list[f.next++];
      if (isTensor(v) || isMapping(v)) f.terminal = false;
      else if (Array.isArray(v)) {
        const answer = known.get(v);
        if (answer === undefined) frames.push({ list: v, next: 0, terminal: true });
        else if (!answer) f.terminal = false;
      }
    }
    return known.get(root)!;
  };
}
