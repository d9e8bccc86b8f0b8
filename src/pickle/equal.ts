import { isTensor } from "../tensor/mod.ts";
import { PyByteArray, PyComplex, PyFloat, PyTuple } from "./value.ts";

/** Comparisons allowed per call before giving up: values from untrusted files must not cost unbounded time. */
const DEFAULT_BUDGET = 1_000_000;

/**
 * Structural equality of decoded Python values, as a checkpoint diff needs it: same types (an int is not
 * the float of the same value), NaN equals NaN, dict and set order ignored, tensors equal by bytes.
 * Shared sub-values are compared once and cycles terminate (a pair met again while being compared counts
 * as equal, which is what makes two isomorphic cyclic values equal). The walk keeps its own stack, so
 * nesting as deep as a pickle can build (100k levels) costs steps, not JavaScript stack. Returns undefined
 * when the comparison would exceed `budget` steps (one step per pair of values compared).
 */
export function pyEqual(a: unknown, b: unknown, budget = DEFAULT_BUDGET): boolean | undefined {
  const seen = new WeakMap<object, WeakSet<object>>();
  // Each group is a conjunction (all its tests hold) or a disjunction (one does: a set element or dict key
  // of `x` that `y` holds only as an equal, not identical, value). A test's answer goes to the group on top.
  const stack: Group[] = [all(([[a, b]] as Test[])[Symbol.iterator]())];
  let steps = 0;
  let answer: boolean | undefined;
  for (;;) {
    const top = stack[stack.length - 1];
    if (answer !== undefined && answer === top.any) {
      // Decided: a disjunction by a true test, a conjunction by a false one.
    } else {
      const next = top.tests.next();
      if (!next.done) {
        const test = next.value;
        if (typeof test === "boolean") answer = test;
        else if (test instanceof Array) {
          if (++steps > budget) return undefined;
          const r = comparePair(test[0], test[1], seen);
          if (typeof r === "boolean") answer = r;
          else {
            r.pair = test;
            stack.push(r);
            answer = undefined;
          }
        } else {
          stack.push(test);
          answer = undefined;
        }
        continue;
      }
      answer = !top.any;
    }
    stack.pop();
    // A pair found unequal (say, one candidate of a set element) must not count as equal when met again.
    if (!answer && top.pair) seen.get(top.pair[0] as object)?.delete(top.pair[1] as object);
    if (stack.length === 0) return answer;
  }
}

/** Tests of a group: a pair of values to compare, a nested group, or an answer known already. */
type Test = boolean | [unknown, unknown] | Group;
interface Group {
  /** True: one test must hold (a disjunction); false: all must (a conjunction). */
  any: boolean;
  tests: Iterator<Test>;
  /** The pair of containers this group compares the contents of (none for a disjunction). */
  pair?: [unknown, unknown];
}

/** Compares `x` and `y` at the top level: the answer, or the group of tests that decides it. */
function comparePair(x: unknown, y: unknown, seen: WeakMap<object, WeakSet<object>>): boolean | Group {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) {
    return typeof x === "number" && typeof y === "number" && Number.isNaN(x) && Number.isNaN(y);
  }
  let pairs = seen.get(x);
  if (pairs?.has(y)) return true;
  if (!pairs) seen.set(x, pairs = new WeakSet());
  pairs.add(y);
  const r = compareContents(x, y);
  if (r === false) pairs.delete(y);
  return r;
}

function compareContents(x: object, y: object): boolean | Group {
  if (x instanceof PyFloat) {
    return y instanceof PyFloat && (x.value === y.value || (x.value !== x.value && y.value !== y.value));
  }
  if (x instanceof PyComplex) return y instanceof PyComplex && all(pairsOf([x.re, x.im], [y.re, y.im]));
  if (x instanceof Uint8Array) return y instanceof Uint8Array && !isTensor(y) && bytesEqual(x, y);
  if (x instanceof PyByteArray) return y instanceof PyByteArray && bytesEqual(x.bytes, y.bytes);
  if (x instanceof PyTuple) {
    return y instanceof PyTuple && x.items.length === y.items.length && all(pairsOf(x.items, y.items));
  }
  if (Array.isArray(x)) return Array.isArray(y) && x.length === y.length && all(pairsOf(x, y));
  if (x instanceof Set) return y instanceof Set && x.size === y.size && all(setTests(x, y));
  if (x instanceof Map) return y instanceof Map && x.size === y.size && all(mapTests(x, y));
  if (isTensor(x)) {
    return isTensor(y) && x.dtype === y.dtype && x.shape.join() === y.shape.join() && bytesEqual(x.data, y.data);
  }
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
  const kx = Object.keys(x), ky = Object.keys(y);
  if (kx.length !== ky.length || !kx.every((k) => Object.hasOwn(y, k))) return false;
  const ox = x as Record<string, unknown>, oy = y as Record<string, unknown>;
  return all(kx.map((k): Test => [ox[k], oy[k]])[Symbol.iterator]());
}

const all = (tests: Iterator<Test>): Group => ({ any: false, tests });

function* pairsOf(x: readonly unknown[], y: readonly unknown[]): Iterator<Test> {
  for (let i = 0; i < x.length; i++) yield [x[i], y[i]];
}

// The other side is listed once per container, not once per element: only pair comparisons (budgeted) repeat.
function* setTests(x: Set<unknown>, y: Set<unknown>): Iterator<Test> {
  let ys: unknown[] | undefined;
  for (const e of x) {
    if (y.has(e)) continue;
    ys ??= [...y];
    yield { any: true, tests: elementCandidates(e, ys) };
  }
}

function* elementCandidates(e: unknown, ys: unknown[]): Iterator<Test> {
  for (const f of ys) yield [e, f];
}

function* mapTests(x: Map<unknown, unknown>, y: Map<unknown, unknown>): Iterator<Test> {
  let ys: [unknown, unknown][] | undefined;
  for (const [k, v] of x) {
    if (y.has(k)) {
      yield [v, y.get(k)];
      continue;
    }
    ys ??= [...y];
    yield { any: true, tests: candidates(k, v, ys) };
  }
}

function* candidates(k: unknown, v: unknown, ys: [unknown, unknown][]): Iterator<Test> {
  for (const [k2, v2] of ys) yield all([[k, k2], [v, v2]][Symbol.iterator]() as Iterator<Test>);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
