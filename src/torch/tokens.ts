import type { DType } from "../dtype/mod.ts";
import type { PyValue } from "../pickle/mod.ts";

/** `torch.<dtype>` as a bare global (the dtype argument of `_rebuild_tensor_v3`, DCP tensor properties). */
export class TorchDType {
  /** The token of `dtype`. */
  constructor(readonly dtype: DType) {}
}

/** A storage class named in a persistent id: `torch.FloatStorage` (typed) or `UntypedStorage` (bytes). */
export class TorchStorageType {
  /** The storage class `name` and the dtype it holds (undefined for untyped storage). */
  constructor(readonly name: string, readonly dtype: DType | undefined) {}
}

/** `torch.strided` and friends, as `torch.serialization._get_layout` or the bare global gives them. */
export class TorchLayout {
  /** The layout `name`. */
  constructor(readonly name: string) {}
}

/**
 * Class instances have no index signature, so TypeScript will not take them as the `PyValue` object case
 * even though that case exists for exactly these handler-built objects.
 */
export function pyObject(v: object): PyValue {
  return v as PyValue;
}
