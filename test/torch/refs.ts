import type { PyValue } from "../../src/pickle/mod.ts";
import { isTensorRef, type TensorRef } from "../../src/torch/mod.ts";

/** The tensor reference at `key` of a decoded dict (or the value itself without a key). */
export function refAt(value: PyValue, key?: string): TensorRef {
  const v = key === undefined ? value : value instanceof Map ? value.get(key) : undefined;
  if (!isTensorRef(v)) throw new Error(`no tensor reference at ${key ?? "the top level"}`);
  return v;
}

/** Every tensor reference among a decoded dict's values. */
export function refsOf(value: PyValue): TensorRef[] {
  if (!(value instanceof Map)) throw new Error("not a dict");
  return [...value.values()].flatMap((v) => isTensorRef(v) ? [v] : []);
}
