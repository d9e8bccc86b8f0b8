import type { DType } from "../dtype/mod.ts";

/**
 * One storage record of a torch.save archive (`<archive>/data/<key>`), as a persistent id names it.
 * `dtype` is undefined for `UntypedStorage`, whose `numel` counts bytes.
 */
export class TorchStorage {
  /** A storage record reference. */
  constructor(
    readonly key: string,
    readonly dtype: DType | undefined,
    readonly numel: number,
    readonly location: string,
  ) {}
}

/**
 * A tensor inside a torch.save archive whose bytes have not been read yet: a strided view of one storage.
 * `stride` and `storageOffset` are in elements of `dtype`; `storageNumel` is the storage length in those
 * elements. `conj`/`neg` are torch's lazy conjugate/negative bits (applied when the tensor is read).
 */
export class TensorRef {
  /** A tensor reference (see the class). */
  constructor(
    readonly dtype: DType,
    readonly shape: number[],
    readonly stride: number[],
    readonly storageOffset: number,
    readonly storageKey: string,
    readonly storageNumel: number,
    readonly requiresGrad: boolean,
    readonly conj = false,
    readonly neg = false,
  ) {}

  /** The same view with another `requires_grad` (what `_rebuild_parameter` does to its tensor). */
  withRequiresGrad(requiresGrad: boolean): TensorRef {
    return new TensorRef(
      this.dtype,
      this.shape,
      this.stride,
      this.storageOffset,
      this.storageKey,
      this.storageNumel,
      requiresGrad,
      this.conj,
      this.neg,
    );
  }
}

/** True for a `TensorRef`. */
export function isTensorRef(v: unknown): v is TensorRef {
  return v instanceof TensorRef;
}
