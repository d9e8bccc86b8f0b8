/**
 * Reading a box of a non-contiguous view (transposed, permuted, sliced with steps, expanded): read the
 * storage span the box touches and gather. A span much larger than the box (a few rows of a transposed
 * weight touch nearly all of it) is split first, so scratch memory stays near the result's size.
 */
import { MAX_READ_BYTES } from "../storage/mod.ts";
import { type Box, boxNumel, copyBox } from "../tensor/mod.ts";
import type { ZipEntry } from "../zip/mod.ts";
import { MAX_GAPPED_READ, readRecordRange, type RecordReadContext } from "./record_range.ts";
import type { TensorRef } from "./tensor_ref.ts";

/** Fills `out` (dense, row-major, exactly `region`'s bytes) with `region` of the view `ref`. */
export async function gatherStrided(
  ctx: RecordReadContext,
  record: ZipEntry,
  ref: TensorRef,
  region: Box,
  itemsize: number,
  out: Uint8Array,
): Promise<void> {
  const rank = region.sizes.length;
  let lo = ref.storageOffset;
  let reach = 0; // elements past `lo` the box touches, per dimension
  let widest = 0;
  for (let d = 0; d < rank; d++) {
    lo += region.offsets[d] * ref.stride[d];
    const dimReach = (region.sizes[d] - 1) * ref.stride[d];
    if (dimReach > (region.sizes[widest] - 1) * ref.stride[widest]) widest = d;
    reach += dimReach;
  }
  const spanBytes = (reach + 1) * itemsize;
  if (spanBytes <= Math.min(MAX_READ_BYTES, Math.max(MAX_GAPPED_READ, 2 * out.byteLength))) {
    copyFromSpan(await readRecordRange(ctx, record, lo * itemsize, spanBytes), ref, region, itemsize, out);
    return;
  }
  // Halve the dimension that spreads the box furthest through storage; each half is gathered on its own.
  // The span exceeds one element here, so `widest` has at least two entries to split.
  const half = Math.floor(region.sizes[widest] / 2);
  for (const [start, size] of [[0, half], [half, region.sizes[widest] - half]]) {
    const part: Box = {
      offsets: region.offsets.map((o, d) => (d === widest ? o + start : o)),
      sizes: region.sizes.map((s, d) => (d === widest ? size : s)),
    };
    const piece = new Uint8Array(boxNumel(part) * itemsize);
    await gatherStrided(ctx, record, ref, part, itemsize, piece);
    copyBox(piece, part, out, region, part, itemsize);
  }
}

/** Copies `region` out of `span` (the storage from the box's first element on), row by row or element by element. */
function copyFromSpan(span: Uint8Array, ref: TensorRef, region: Box, itemsize: number, out: Uint8Array): void {
  const rank = region.sizes.length;
  // Copy in the widest word that divides the element size, with both buffers viewed at that width.
  const word = itemsize % 4 === 0 && span.byteOffset % 4 === 0
    ? 4
    : itemsize % 2 === 0 && span.byteOffset % 2 === 0
    ? 2
    : 1;
  const src = wordView(span, word);
  const dst = wordView(out, word);
  const perElem = itemsize / word;
  const innerSize = region.sizes[rank - 1];
  const innerStride = ref.stride[rank - 1] * perElem;
  const counter = new Array<number>(rank - 1).fill(0);
  let o = 0;
  for (;;) {
    let s = 0;
    for (let d = 0; d < rank - 1; d++) s += counter[d] * ref.stride[d];
    s *= perElem;
    if (innerStride === perElem) {
      dst.set(src.subarray(s, s + innerSize * perElem), o);
      o += innerSize * perElem;
    } else if (perElem === 1) {
      for (let i = 0; i < innerSize; i++, s += innerStride) dst[o++] = src[s];
    } else {
      for (let i = 0; i < innerSize; i++, s += innerStride) {
        for (let w = 0; w < perElem; w++) dst[o++] = src[s + w];
      }
    }
    let d = rank - 2;
    while (d >= 0) {
      if (++counter[d] < region.sizes[d]) break;
      counter[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

function wordView(b: Uint8Array, word: number): Uint8Array | Uint16Array | Uint32Array {
  if (word === 4) return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  if (word === 2) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  return b;
}
