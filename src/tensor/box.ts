/**
 * Axis-aligned boxes of an N-d tensor (DCP chunks, requested regions) and the byte copy between two
 * row-major buffers that every reshard and region read is made of.
 */
import { contiguousStrides } from "./tensor.ts";

/** A box of a tensor: where it starts and how far it reaches in each dimension. */
export interface Box {
  /** Start index in each dimension. */
  offsets: number[];
  /** Extent in each dimension. */
  sizes: number[];
}

/** Elements in a box. */
export function boxNumel(box: Box): number {
  let n = 1;
  for (const s of box.sizes) n *= s;
  return n;
}

/** The intersection of two boxes, or undefined when they do not overlap (0-d boxes always overlap). */
export function intersectBoxes(a: Box, b: Box): Box | undefined {
  const offsets: number[] = [];
  const sizes: number[] = [];
  for (let d = 0; d < a.offsets.length; d++) {
    const lo = Math.max(a.offsets[d], b.offsets[d]);
    const hi = Math.min(a.offsets[d] + a.sizes[d], b.offsets[d] + b.sizes[d]);
    if (hi <= lo) return undefined;
    offsets.push(lo);
    sizes.push(hi - lo);
  }
  return { offsets, sizes };
}

/** The box covering a whole tensor of this shape. */
export function wholeBox(shape: readonly number[]): Box {
  return { offsets: shape.map(() => 0), sizes: [...shape] };
}

/**
 * Copies the global box `region` from `src` (holding global box `srcBox`) into `dst` (holding global box
 * `dstBox`). Both buffers are row-major with `elementBytes` per element; `region` must lie inside both boxes.
 * Runs of contiguous bytes are copied with one `set` each (the innermost contiguous span is merged across
 * trailing dimensions that are whole in both buffers).
 */
export function copyBox(
  src: Uint8Array,
  srcBox: Box,
  dst: Uint8Array,
  dstBox: Box,
  region: Box,
  elementBytes: number,
): void {
  const rank = region.sizes.length;
  if (rank === 0) {
    dst.set(src.subarray(0, elementBytes), 0);
    return;
  }
  if (region.sizes.some((s) => s === 0)) return;
  // Merge trailing dims that span both buffers fully into one contiguous run.
  let inner = rank - 1;
  let run = region.sizes[inner] * elementBytes;
  while (
    inner > 0 && region.sizes[inner] === srcBox.sizes[inner] && region.sizes[inner] === dstBox.sizes[inner]
  ) {
    inner--;
    run *= region.sizes[inner];
  }
  const srcStrides = contiguousStrides(srcBox.sizes).map((s) => s * elementBytes);
  const dstStrides = contiguousStrides(dstBox.sizes).map((s) => s * elementBytes);
  let srcBase = 0;
  let dstBase = 0;
  for (let d = 0; d < rank; d++) {
    srcBase += (region.offsets[d] - srcBox.offsets[d]) * srcStrides[d];
    dstBase += (region.offsets[d] - dstBox.offsets[d]) * dstStrides[d];
  }
  // Iterate the outer dims [0, inner) as an odometer.
  const counter = new Array<number>(inner).fill(0);
  for (;;) {
    let s = srcBase;
    let t = dstBase;
    for (let d = 0; d < inner; d++) {
      s += counter[d] * srcStrides[d];
      t += counter[d] * dstStrides[d];
    }
    dst.set(src.subarray(s, s + run), t);
    let d = inner - 1;
    while (d >= 0) {
      if (++counter[d] < region.sizes[d]) break;
      counter[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}
