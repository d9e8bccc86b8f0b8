import { readFileSync } from "node:fs";
import type { DType } from "../../src/dtype/mod.ts";
import type { Box, Tensor } from "../../src/tensor/mod.ts";
import { boxNumel, copyBox, wholeBox } from "../../src/tensor/mod.ts";
import { DTYPE_INFO } from "../../src/dtype/mod.ts";

/** expected.json written by the Python savers: fqn -> full tensor bytes. */
export function readExpected(path: string): Map<string, Tensor> {
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, { dtype: DType; shape: number[]; hex: string }>;
  return new Map(
    Object.entries(raw).map((
      [k, v],
    ) => [k, { dtype: v.dtype, shape: v.shape, data: Uint8Array.from(Buffer.from(v.hex, "hex")) }]),
  );
}

/** The bytes of `box` cut out of a full tensor, the reference for box reads. */
export function cut(t: Tensor, box: Box): Uint8Array {
  const isz = DTYPE_INFO[t.dtype].itemsize;
  const out = new Uint8Array(boxNumel(box) * isz);
  copyBox(t.data, wholeBox(t.shape), out, box, box, isz);
  return out;
}

/** A deterministic pseudo-random box inside `shape` (possibly empty along a dimension). */
export function randomBox(shape: readonly number[], seed: number): Box {
  let s = seed * 2654435761 >>> 0;
  const next = (n: number) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return n === 0 ? 0 : (s >>> 8) % n;
  };
  const offsets = shape.map((n) => next(n + 1));
  const sizes = shape.map((n, d) => next(n - offsets[d] + 1));
  return { offsets, sizes };
}
