import type fc from "fast-check";
import process from "node:process";
import { DTYPE_INFO } from "../../src/dtype/mod.ts";
import { ERROR_CODES, WebdcpError } from "../../src/errors/mod.ts";
import { PyByteArray, PyComplex, PyFloat, PyTuple } from "../../src/pickle/mod.ts";
import { isTensor, numel, type Tensor } from "../../src/tensor/mod.ts";

/**
 * The fuzz property's referee. A reader run on mutated bytes must either return (then its result is
 * checked for well-formedness by the caller) or throw a `WebdcpError` with a listed code and a path. Any
 * other exception, a typed error that wraps a JavaScript crash, a run past the time budget, or an
 * ArrayBuffer growth beyond a few times the input fails the case.
 */

/**
 * Fixed seed by default so a failure reproduces; `FUZZ_SEED=<int>` explores elsewhere, `FUZZ_RUNS=<n>` goes
 * deeper (every property then runs n cases, or `share` of n for properties whose cases are whole generated
 * checkpoints, far costlier than a mutated seed). fast-check prints the seed and path of a failure to replay it.
 */
export function fuzzParameters(defaultRuns: number, share = 1): fc.Parameters<unknown> {
  const runs = Number(process.env.FUZZ_RUNS);
  const seed = Number(process.env.FUZZ_SEED);
  return {
    numRuns: Number.isSafeInteger(runs) && runs > 0 ? Math.max(defaultRuns, Math.round(runs * share)) : defaultRuns,
    seed: process.env.FUZZ_SEED !== undefined && Number.isSafeInteger(seed) ? seed : 0x5eed,
  };
}

/** A reader still busy after this long is taken for a hang (inputs are a few KiB). */
const CASE_BUDGET_MS = Number(process.env.FUZZ_CASE_MS) || 2000;
/** Allowed growth of live ArrayBuffer memory per case: `AMPLIFICATION` x the input, plus fixed slack. */
const AMPLIFICATION = 4;
const MEMORY_SLACK = 16 << 20;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: WebdcpError };

/**
 * What the JavaScript engine says when code trips over a value it did not expect. TypeError alone is no
 * sign of a crash (TextDecoder reports bad UTF-8 with one), so the message decides.
 */
const ENGINE_CRASH =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|is not a constructor|Invalid array length|Invalid typed array length|Invalid string length|Maximum call stack|allocation failed|Cannot mix BigInt|Cannot convert .* to a BigInt|out of memory/;

/** Throws (failing the case) unless `e` is a well-formed typed error that does not hide a crash. */
export function checkTypedError(e: unknown): WebdcpError {
  if (!(e instanceof WebdcpError)) {
    const err = e as Error;
    throw new Error(`untyped ${err?.name ?? typeof e}: ${err?.message ?? String(e)}\n${err?.stack ?? ""}`, {
      cause: e,
    });
  }
  if (!(ERROR_CODES as readonly string[]).includes(e.code)) {
    throw new Error(`unlisted code ${e.code}: ${e.message}`, { cause: e });
  }
  if (typeof e.path !== "string" || e.path.length === 0) {
    throw new Error(`no path on ${e.name} ${e.message}\n${e.stack}`, { cause: e });
  }
  if (e.offset !== undefined && !(Number.isSafeInteger(e.offset) && e.offset >= 0)) {
    throw new Error(`bad offset ${e.offset} on ${e.message}`, { cause: e });
  }
  for (let c: unknown = e.cause, depth = 0; c !== undefined && depth < 8; c = (c as Error).cause, depth++) {
    if (c instanceof Error && ENGINE_CRASH.test(c.message)) {
      throw new Error(`${e.code} wraps a crash: ${(c as Error).name}: ${(c as Error).message}\n${(c as Error).stack}`, {
        cause: e,
      });
    }
  }
  return e;
}

/** Runs `read` under the time and memory guards; returns its value or the typed error it threw. */
export async function guarded<T>(
  inputBytes: number,
  read: () => Promise<T> | T,
  budgetMs = CASE_BUDGET_MS,
): Promise<Outcome<T>> {
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangSignal()), budgetMs);
  });
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: await Promise.race([Promise.resolve().then(read), hang]) };
  } catch (e) {
    if (e instanceof HangSignal) throw new Error(`reader did not settle within ${budgetMs} ms (hang)`);
    outcome = { ok: false, error: checkTypedError(e) };
  } finally {
    clearTimeout(timer);
  }
  // A synchronous loop cannot be pre-empted by the timer; it is caught here once it returns.
  const elapsed = performance.now() - started;
  if (elapsed > budgetMs) throw new Error(`reader took ${elapsed.toFixed(0)} ms (hang)`);
  tally.set(outcome.ok ? "ok" : outcome.error.code, (tally.get(outcome.ok ? "ok" : outcome.error.code) ?? 0) + 1);
  const grown = process.memoryUsage().arrayBuffers - before;
  if (grown > AMPLIFICATION * inputBytes + MEMORY_SLACK) {
    throw new Error(`ArrayBuffer memory grew by ${grown} bytes on a ${inputBytes}-byte input`);
  }
  return outcome;
}

class HangSignal extends Error {}

/** How the cases of this test file ended ("ok" or the error code), to see that mutations reach deep. */
const tally = new Map<string, number>();

/** With `FUZZ_STATS=1`, prints and resets the outcome counts (call from `afterEach`). */
export function reportOutcomes(label: string): void {
  if (process.env.FUZZ_STATS && tally.size > 0) {
    console.info(`${label}: ${[...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }
  tally.clear();
}

/**
 * A returned tensor is dense and consistent (`data.byteLength === numel * itemsize`) and no larger than
 * `AMPLIFICATION` x the input: every seed tensor is backed by distinct bytes of its file, so bigger means
 * a reader invented data from a declared size.
 */
export function checkTensor(t: Tensor, inputBytes: number, what: string): void {
  const fail = (why: string) => {
    throw new Error(`${what}: ${why}`);
  };
  if (!isTensor(t)) fail("not a Tensor");
  const info = DTYPE_INFO[t.dtype];
  if (info === undefined) fail(`unknown dtype ${t.dtype}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`bad shape [${t.shape}]`);
  const n = numel(t.shape);
  if (!Number.isSafeInteger(n * info.itemsize) || t.data.byteLength !== n * info.itemsize) {
    fail(`${t.data.byteLength} bytes for ${t.dtype}[${t.shape}]`);
  }
  if (t.data.byteLength > AMPLIFICATION * inputBytes) {
    fail(`${t.data.byteLength} bytes from a ${inputBytes}-byte input`);
  }
}

/**
 * Visits every value reachable from a decoded pickle (cycle-safe) and fails on anything outside the
 * `PyValue` model (`undefined`, holes, functions); `isKnown` accepts objects that allow-listed globals built.
 */
export function checkPyValue(root: unknown, isKnown: (o: object) => boolean): void {
  const seen = new Set<object>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    const t = typeof v;
    if (v === null || t === "boolean" || t === "string" || t === "bigint" || t === "number") continue;
    if (typeof v !== "object") throw new Error(`decoded a ${typeof v}, outside the PyValue model`);
    if (seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new Error(`list with a hole at ${i}`);
        todo.push(v[i]);
      }
    } else if (v instanceof Map) {
      for (const [k, x] of v) todo.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) todo.push(x);
    } else if (v instanceof PyTuple) {
      todo.push(v.items);
    } else if (v instanceof Uint8Array || v instanceof PyFloat || v instanceof PyComplex || v instanceof PyByteArray) {
      continue;
    } else if (!isKnown(v)) {
      throw new Error(`decoded an unexpected object ${v.constructor?.name}`);
    }
  }
}
