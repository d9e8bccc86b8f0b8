import type { DType } from "../dtype/mod.ts";
import type { ByteStream } from "../storage/mod.ts";

/**
 * A tensor leaf whose bytes are produced only when the writer reaches its storage record, so a converter can
 * write a multi-GB `.pt` holding one band of one tensor in memory at a time. `read()` resolves to the dense
 * row-major, little-endian bytes (`numel(shape) * itemsize(dtype)` of them), whole or in pieces.
 */
export interface LazyTensor {
  /** The dtype of the bytes `read` gives. */
  dtype: DType;
  /** The shape. */
  shape: number[];
  /** The tensor's bytes, asked for when the writer reaches its storage. */
  read(): Promise<ByteStream>;
}

/** True for a `LazyTensor` leaf. */
export function isLazyTensor(v: unknown): v is LazyTensor {
  return typeof v === "object" && v !== null && typeof (v as LazyTensor).read === "function" &&
    typeof (v as LazyTensor).dtype === "string" && Array.isArray((v as LazyTensor).shape) &&
    !((v as { data?: unknown }).data instanceof Uint8Array);
}
