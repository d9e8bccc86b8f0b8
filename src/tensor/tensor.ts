import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";

/**
 * A dense tensor in memory: row-major (C-contiguous), little-endian element bytes.
 * `data.byteLength === numel(shape) * itemsize(dtype)` always holds.
 */
export interface Tensor {
  /** The element type. */
  dtype: DType;
  /** The shape (empty for a scalar). */
  shape: number[];
  /** The elements, row-major, little-endian. */
  data: Uint8Array;
}

/** Upper bound on elements per tensor we accept from untrusted headers (2^53 - 1 keeps arithmetic exact). */
export const MAX_NUMEL: number = Number.MAX_SAFE_INTEGER;

/** Elements of a tensor of this shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes of a dense tensor of this dtype and shape. */
export function byteSize(dtype: DType, shape: readonly number[]): number {
  return numel(shape) * itemsize(dtype);
}

/**
 * Row-major strides in elements, as torch computes them for a contiguous tensor: a size-0 dimension counts
 * as 1 (`torch.empty(3, 0).stride() == (1, 1)`), which only matters for what files record.
 */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return strides;
}

/** Checks a shape from untrusted input: non-negative safe integers whose product stays exact. */
export function checkShape(shape: readonly unknown[], where: { path?: string; offset?: number } = {}): number[] {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new FormatError("E_SHAPE", `invalid dimension ${String(d)} in shape [${shape.join(", ")}]`, where);
    }
    n *= d;
    if (n > MAX_NUMEL) throw new FormatError("E_SHAPE", `shape [${shape.join(", ")}] is absurdly large`, where);
  }
  return shape as number[];
}

/** A tensor of this dtype and shape over `data` (zeros when not given; E_USAGE when the size is wrong). */
export function makeTensor(dtype: DType, shape: number[], data?: Uint8Array): Tensor {
  const size = byteSize(dtype, shape);
  if (data === undefined) return { dtype, shape, data: new Uint8Array(size) };
  if (data.byteLength !== size) {
    throw new FormatError(
      "E_SHAPE",
      `tensor ${dtype}[${shape.join(", ")}] needs ${size} bytes, got ${data.byteLength}`,
    );
  }
  return { dtype, shape, data };
}

/** True for values shaped like a `Tensor` (used to find tensor leaves in nested state dicts). */
export function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && (v as Tensor).data instanceof Uint8Array &&
    typeof (v as Tensor).dtype === "string" && Array.isArray((v as Tensor).shape);
}
