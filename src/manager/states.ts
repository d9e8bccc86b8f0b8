/**
 * What a program hands the manager: one object per checkpointed state, each giving and taking a (nested)
 * state dict of tensors and Python-like values, as `torch.distributed.checkpoint.stateful.Stateful` does.
 */
import type { DType } from "../dtype/mod.ts";
import type { StateDict } from "../dcp/mod.ts";

/** One checkpointed state: gives its state dict to a save and takes the loaded one back. */
export interface Stateful {
  /** The current state. Tensors may be host `Tensor`s or `GpuStateTensor`s; values are `PyValue`s. */
  stateDict(): StateDict | Promise<StateDict>;
  /** Receives the loaded state, shaped as `stateDict()` gave it (nested `Map`s), tensors on the host. */
  loadStateDict(stateDict: Map<string, unknown>): void | Promise<void>;
}

/**
 * TorchTitan's states. `model` keys are stored flat at the top level of the checkpoint; the others under
 * their name (`optimizer.state.<param>.exp_avg`, `lr_scheduler.last_epoch`, `dataloader.dp_rank_0`,
 * `train_state.step`). Further states are saved under their own names.
 */
export interface ManagerStates {
  /** The model's parameters and buffers (the one state every manager needs). */
  model: Stateful;
  /** The optimizer's state (per-parameter slots such as `exp_avg`, and its param groups). */
  optimizer?: Stateful;
  /** The learning-rate scheduler's state. */
  lr_scheduler?: Stateful;
  /** The data loader's position. */
  dataloader?: Stateful;
  /** The trainer's own counters (`step`, ...). */
  train_state?: Stateful;
  /** Any other state, saved under its name. */
  [name: string]: Stateful | undefined;
}

/**
 * A tensor living in a WebGPU buffer (row-major, little-endian, `byteOffset` 4-aligned). Saving reads it
 * back with `copyBufferToBuffer` + `mapAsync`; the buffer needs `GPUBufferUsage.COPY_SRC`. A class, not a
 * plain object, so state-dict flattening takes it as a leaf.
 */
export class GpuStateTensor {
  /** Wraps `shape` elements of `dtype` at `byteOffset` (bytes, default 0) of `buffer`, on `device`. */
  constructor(
    readonly device: GPUDevice,
    readonly buffer: GPUBuffer,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly byteOffset = 0,
  ) {}

  /** A tensor `loadToGpu` placed (its buffer needs COPY_SRC usage to be saved). */
  static from(device: GPUDevice, t: { buffer: GPUBuffer; dtype: DType; shape: readonly number[] }): GpuStateTensor {
    return new GpuStateTensor(device, t.buffer, t.dtype, t.shape);
  }
}
