import { PyTuple } from "../../src/pickle/mod.ts";

/** Every value reachable from a decoded pickle that satisfies `is` (cycle-safe: pickles may self-reference). */
export function collect<T>(root: unknown, is: (v: unknown) => v is T): T[] {
  const found: T[] = [];
  const seen = new Set<unknown>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (is(v)) found.push(v);
    else if (Array.isArray(v)) todo.push(...v);
    else if (v instanceof PyTuple) todo.push(...v.items);
    else if (v instanceof Map) for (const [k, x] of v) todo.push(k, x);
    else if (v instanceof Set) todo.push(...v);
  }
  return found;
}

/** Byte positions where `a` and `b` differ, and the XOR there. */
export function diffBytes(a: Uint8Array, b: Uint8Array): { at: number; xor: number }[] {
  const out: { at: number; xor: number }[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) out.push({ at: i, xor: a[i] ^ b[i] });
  return out;
}
