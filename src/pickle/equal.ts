import { isTensor } from "../tensor/mod.ts";
import { PyByteArray, PyComplex, PyFloat, PyTuple } from "./value.ts";

/** Comparisons allowed per call before giving up: values from untrusted files must not cost unbounded time. */
const DEFAULT_BUDGET = 1_000_000;
/** Nesting compared before giving up: decoded pickles may nest far deeper than the JS stack allows (Python itself stops near 1000). */
const MAX_DEPTH = 500;

/**
 * Structural equality of decoded Python values, as a checkpoint diff needs it: same types (an int is not
 * the float of the same value), NaN equals NaN, dict and set order ignored, tensors equal by bytes.
 * Shared sub-values are compared once and cycles terminate (a pair met again while being compared counts
 * as equal, which is what makes two isomorphic cyclic values equal). Returns undefined when the comparison
 * would exceed `budget` steps or nest deeper than MAX_DEPTH.
 */
export function pyEqual(a: unknown, b: unknown, budget = DEFAULT_BUDGET): boolean | undefined {
  const seen = new WeakMap<object, WeakSet<object>>();
  let steps = 0;
  let depth = 0;
  const eq = (x: unknown, y: unknown): boolean => {
    if (++steps > budget || depth >= MAX_DEPTH) throw BUDGET_EXCEEDED;
    depth++;
    try {
      return eqInner(x, y);
    } finally {
      depth--;
    }
  };
  const eqInner = (x: unknown, y: unknown): boolean => {
    if (x === y) return true;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) {
      return typeof x === "number" && typeof y === "number" && Number.isNaN(x) && Number.isNaN(y);
    }
    let pairs = seen.get(x);
    if (pairs?.has(y)) return true;
    if (!pairs) seen.set(x, pairs = new WeakSet());
    pairs.add(y);
    if (x instanceof PyFloat) {
      return y instanceof PyFloat && (x.value === y.value || (x.value !== x.value && y.value !== y.value));
    }
    if (x instanceof PyComplex) return y instanceof PyComplex && eq(x.re, y.re) && eq(x.im, y.im);
    if (x instanceof Uint8Array) return y instanceof Uint8Array && !isTensor(y) && bytesEqual(x, y);
    if (x instanceof PyByteArray) return y instanceof PyByteArray && bytesEqual(x.bytes, y.bytes);
    if (x instanceof PyTuple) return y instanceof PyTuple && listEqual(x.items, y.items);
    if (Array.isArray(x)) return Array.isArray(y) && listEqual(x, y);
    // The other side is listed once per container, not once per element: only `eq` calls (budgeted) repeat.
    if (x instanceof Set) {
      if (!(y instanceof Set) || x.size !== y.size) return false;
      const ys = [...y];
      for (const e of x) if (!y.has(e) && !ys.some((f) => eq(e, f))) return false;
      return true;
    }
    if (x instanceof Map) {
      if (!(y instanceof Map) || x.size !== y.size) return false;
      let ys: [unknown, unknown][] | undefined;
      for (const [k, v] of x) {
        if (y.has(k)) {
          if (!eq(v, y.get(k))) return false;
        } else if (!(ys ??= [...y]).some(([k2, v2]) => eq(k, k2) && eq(v, v2))) return false;
      }
      return true;
    }
    if (isTensor(x)) {
      return isTensor(y) && x.dtype === y.dtype && x.shape.join() === y.shape.join() && bytesEqual(x.data, y.data);
    }
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
    const kx = Object.keys(x), ky = Object.keys(y);
    return kx.length === ky.length &&
      kx.every((k) => Object.hasOwn(y, k) && eq((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]));
  };
  const listEqual = (x: readonly unknown[], y: readonly unknown[]) =>
    x.length === y.length && x.every((e, i) => eq(e, y[i]));
  try {
    return eq(a, b);
  } catch (e) {
    if (e === BUDGET_EXCEEDED) return undefined;
    throw e;
  }
}

const BUDGET_EXCEEDED = Symbol("budget exceeded");

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
