import { itemsize } from "../../src/dtype/mod.ts";
import { PyTuple } from "../../src/pickle/mod.ts";
import { type Box, contiguousStrides, numel, type Tensor } from "../../src/tensor/mod.ts";

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
    else if (v instanceof Map) { for (const [k, x] of v) todo.push(k, x); }
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

/** The upper half of every dimension: a box that starts inside the tensor and runs to its end. */
export function upperHalf(shape: readonly number[]): Box {
  return { offsets: shape.map((d) => Math.floor(d / 2)), sizes: shape.map((d) => d - Math.floor(d / 2)) };
}

/**
 * `box` cut out of a dense tensor, element by element: an independent reference for the readers' box
 * paths (which read only the rows they need and so take other code than a whole read).
 */
export function cutBox(t: Tensor, box: Box): Uint8Array {
  const size = itemsize(t.dtype);
  const strides = contiguousStrides(t.shape);
  const out = new Uint8Array(numel(box.sizes) * size);
  const index = box.sizes.map(() => 0);
  for (let k = 0; k < numel(box.sizes); k++) {
    let at = 0;
    for (let d = 0; d < index.length; d++) at += (box.offsets[d] + index[d]) * strides[d];
    out.set(t.data.subarray(at * size, (at + 1) * size), k * size);
    for (let d = index.length - 1; d >= 0 && ++index[d] === box.sizes[d]; d--) index[d] = 0;
  }
  return out;
}
