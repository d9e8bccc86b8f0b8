import { GpuError, UsageError } from "../../errors/mod.ts";
import type { Box } from "../../tensor/mod.ts";
import { contiguousStrides } from "../../tensor/mod.ts";

/**
 * Pure planning of GPU work: how a job is cut into dispatches that respect the device's real limits
 * (binding size, buffer size, offset alignment, workgroups per dimension). No GPU calls here, so the
 * plans are tested directly and through a recording device.
 */
export interface GpuLimits {
  /** `GPUSupportedLimits.maxStorageBufferBindingSize`. */
  maxStorageBufferBindingSize: number;
  /** `GPUSupportedLimits.maxBufferSize`. */
  maxBufferSize: number;
  /** `GPUSupportedLimits.minStorageBufferOffsetAlignment`. */
  minStorageBufferOffsetAlignment: number;
  /** `GPUSupportedLimits.maxComputeWorkgroupsPerDimension`. */
  maxComputeWorkgroupsPerDimension: number;
}

export const WORKGROUP_SIZE = 64;

/** A byte range of a buffer bound to a shader: offset aligned for binding, size a multiple of 4. */
export interface Window {
  offset: number;
  size: number;
}

/** Workgroup counts for `invocations` threads: 1-D while it fits, else 2-D (the shader flattens it). */
export function dispatchSize(invocations: number, limits: GpuLimits): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / WORKGROUP_SIZE));
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new GpuError("E_GPU", `${invocations} invocations exceed the device's dispatch limits`);
  return [max, y];
}

/** The window covering bytes [start, end) of a buffer: offset aligned down, size rounded up to words. */
export function windowFor(start: number, end: number, limits: GpuLimits): Window {
  const align = limits.minStorageBufferOffsetAlignment;
  const offset = Math.floor(start / align) * align;
  return { offset, size: Math.max(4, Math.ceil((end - offset) / 4) * 4) };
}

/** Largest number of bytes a job may put in one window, leaving room for alignment slack. */
export function windowBudget(limits: GpuLimits, stagingBytes: number): number {
  const budget = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, stagingBytes) -
    limits.minStorageBufferOffsetAlignment - 4;
  if (budget < 64) throw new GpuError("E_GPU", `device limits leave only ${budget} bytes per binding`);
  return budget;
}

/** One piece of a linear conversion: elements [first, first + count) of the job. */
export interface LinearPiece {
  first: number;
  count: number;
  srcBytes: number;
  dstBytes: number;
  words: number;
  dispatch: [number, number];
}

/**
 * Cuts `count` elements into pieces that fit a binding on both sides. Piece starts are multiples of the
 * offset alignment (in elements), so every piece's source and destination byte offsets can be bound as is.
 */
export function planLinear(
  count: number,
  srcBits: number,
  dstBits: number,
  limits: GpuLimits,
  stagingBytes: number,
): LinearPiece[] {
  const budget = windowBudget(limits, stagingBytes);
  // Elements are at least a byte, so a multiple of `align` elements starts on an aligned byte offset.
  const quantum = limits.minStorageBufferOffsetAlignment;
  const fit = Math.floor((budget * 8) / Math.max(srcBits, dstBits));
  const perPiece = Math.max(quantum, Math.floor(fit / quantum) * quantum);
  if (perPiece > fit) throw new GpuError("E_GPU", "device bindings are smaller than one aligned piece");
  const pieces: LinearPiece[] = [];
  for (let first = 0; first < count; first += perPiece) {
    const n = Math.min(perPiece, count - first);
    const words = Math.ceil((n * dstBits) / 32);
    pieces.push({
      first,
      count: n,
      srcBytes: Math.ceil((n * srcBits) / 32) * 4,
      dstBytes: words * 4,
      words,
      dispatch: dispatchSize(words, limits),
    });
  }
  return pieces;
}

/** Elements spanned in a row-major buffer with element strides `strides` by a box of `sizes` at its origin. */
export function spanElements(sizes: readonly number[], strides: readonly number[]): number {
  let span = 1;
  for (let d = 0; d < sizes.length; d++) {
    if (sizes[d] === 0) return 0;
    span += (sizes[d] - 1) * strides[d];
  }
  return span;
}

/**
 * Cuts `region` into sub-boxes whose spans fit `budget` bytes in every buffer (each given by its element
 * strides and bits per element). Splits as few outer dimensions as possible: outer dimensions are taken
 * one index at a time and the first dimension that does not fit whole is cut into runs.
 */
export function splitRegion(
  region: Box,
  buffers: ReadonlyArray<{ strides: readonly number[]; bits: number }>,
  budget: number,
): Box[] {
  const rank = region.sizes.length;
  if (region.sizes.some((s) => s === 0)) return [];
  const fits = (sizes: number[]) =>
    buffers.every((b) => Math.ceil((spanElements(sizes, b.strides) * b.bits) / 8) <= budget);
  let k = 0;
  while (k < rank && !fits([...new Array<number>(k).fill(1), ...region.sizes.slice(k)])) k++;
  if (k === 0) return [{ offsets: [...region.offsets], sizes: [...region.sizes] }];
  if (k === rank && !fits(new Array<number>(rank).fill(1))) {
    throw new GpuError("E_GPU", "one element does not fit a device binding");
  }
  const j = k - 1;
  const trailing = region.sizes.slice(k);
  let run = 1;
  for (let step = region.sizes[j]; step >= 1; step = Math.floor(step / 2)) {
    while (run + step <= region.sizes[j] && fits([...new Array<number>(j).fill(1), run + step, ...trailing])) {
      run += step;
    }
  }
  const boxes: Box[] = [];
  const counter = new Array<number>(j).fill(0);
  for (;;) {
    for (let at = 0; at < region.sizes[j]; at += run) {
      boxes.push({
        offsets: [...counter.map((c, d) => region.offsets[d] + c), region.offsets[j] + at, ...region.offsets.slice(k)],
        sizes: [...new Array<number>(j).fill(1), Math.min(run, region.sizes[j] - at), ...trailing],
      });
    }
    let d = j - 1;
    while (d >= 0 && ++counter[d] === region.sizes[d]) counter[d--] = 0;
    if (d < 0) return boxes;
  }
}

const U32_MAX = 0xFFFFFFFF;

/**
 * The `region_layout` words region_copy.wgsl reads for `sub` (a sub-box of the region) copied from a
 * buffer holding `srcBox` to one holding `dstBox`.
 */
export function regionLayout(sub: Box, srcBox: Box, dstBox: Box): Uint32Array {
  const rank = sub.sizes.length;
  const srcStrides = contiguousStrides(srcBox.sizes);
  const dstStrides = contiguousStrides(dstBox.sizes);
  const layout = new Uint32Array(1 + 5 * rank);
  layout[0] = rank;
  for (let d = 0; d < rank; d++) {
    // A stride beyond u32 only matters when the box moves along that dimension (the window would not fit).
    const values = [
      dstBox.sizes[d],
      sub.sizes[d] === 1 ? Math.min(dstStrides[d], U32_MAX) : dstStrides[d],
      sub.offsets[d] - dstBox.offsets[d],
      sub.sizes[d],
      sub.sizes[d] === 1 ? 0 : srcStrides[d],
    ];
    if (values.some((v) => v > U32_MAX)) {
      throw new UsageError("E_UNSUPPORTED", `chunk dimension ${d} is too large for a GPU region copy`);
    }
    layout.set(values, 1 + 5 * d);
  }
  return layout;
}

/** Linear element index of a box's origin inside a row-major chunk holding `chunk`. */
export function originIndex(sub: Box, chunk: Box): number {
  const strides = contiguousStrides(chunk.sizes);
  let index = 0;
  for (let d = 0; d < strides.length; d++) index += (sub.offsets[d] - chunk.offsets[d]) * strides[d];
  return index;
}
