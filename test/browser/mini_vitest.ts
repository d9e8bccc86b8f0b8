/**
 * The slice of vitest's API that `test/storage/storage_spec.ts` uses, so the same spec runs inside a real
 * browser page (the Chromium test bundles it with `vitest` mapped here). Tests register on import and run in order via `runSpecs`.
 */
type Body = () => unknown | Promise<unknown>;

export interface SpecResult {
  name: string;
  ok: boolean;
  error?: string;
}

const registered: { name: string; body: Body }[] = [];
const prefixes: string[] = [];

export function describe(name: string, body: () => void): void {
  prefixes.push(name);
  try {
    body();
  } finally {
    prefixes.pop();
  }
}

export function it(name: string, body: Body): void {
  registered.push({ name: [...prefixes, name].join(" > "), body });
}

/** Runs (and forgets) every registered test, one after another. */
export async function runSpecs(): Promise<SpecResult[]> {
  const results: SpecResult[] = [];
  for (const { name, body } of registered.splice(0)) {
    try {
      await body();
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  return results;
}

export function expect(actual: unknown) {
  const fail = (what: string, expected: unknown): never => {
    throw new Error(`expected ${show(actual)} ${what} ${show(expected)}`);
  };
  return {
    toBe(expected: unknown): void {
      if (!Object.is(actual, expected)) fail("to be", expected);
    },
    toEqual(expected: unknown): void {
      if (!deepEqual(actual, expected)) fail("to equal", expected);
    },
    toBeUndefined(): void {
      if (actual !== undefined) fail("to be", undefined);
    },
    toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void {
      if (!(actual instanceof type)) fail("to be an instance of", type.name);
    },
  };
}

/** Structural equality as `toEqual` uses it here: arrays, typed arrays, plain objects (undefined keys ignored). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b) || Array.isArray(a) || Array.isArray(b)) {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const x = a as ArrayLike<unknown>, y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  const keys = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined).sort();
  const ka = keys(a), kb = keys(b);
  if (ka.join("\0") !== kb.join("\0")) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? [...(x as Uint8Array)] : x)) ?? String(v);
  } catch {
    return String(v);
  }
}
