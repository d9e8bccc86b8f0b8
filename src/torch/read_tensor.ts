import { DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError, UsageError } from "../errors/mod.ts";
import { MAX_READ_BYTES, readSourceInto } from "../storage/mod.ts";
import { type Box, contiguousStrides, numel, type Tensor } from "../tensor/mod.ts";
import type { ZipEntry } from "../zip/mod.ts";
import { applySignBits, byteswapInPlace } from "./element_ops.ts";
import { gatherStrided } from "./gather_strided.ts";
import { MAX_GAPPED_READ, readRecordRange, type RecordReadContext } from "./record_range.ts";
import type { TensorRef } from "./tensor_ref.ts";

/** Largest dense copy we make of a view that is bigger than its own storage (an expanded view). */
export const MAX_EXPANSION = 256 << 20;

/**
 * Reads `ref` (or the `box` of it) from its storage record into a dense row-major tensor. A contiguous view
 * reads only the byte runs the box covers, straight into the result where they are adjacent; other views
 * read the span of storage the box touches and gather. With `out` (exactly the box's byte size) the
 * result's data is `out`; without it, a box that is one byte run of the record costs one buffer: the read.
 */
export async function readTensorRecord(
  ctx: RecordReadContext,
  record: ZipEntry,
  ref: TensorRef,
  box?: Box,
  out?: Uint8Array,
): Promise<Tensor> {
  const itemsize = DTYPE_INFO[ref.dtype].itemsize;
  checkViewFits(ctx, record, ref, itemsize);
  const region = box === undefined
    ? { offsets: ref.shape.map(() => 0), sizes: [...ref.shape] }
    : checkBox(ctx, ref, box);
  const outBytes = numel(region.sizes) * itemsize;
  // Only overlapping strides (0 for expanded views) make a view larger than its storage; a hostile file
  // could otherwise ask for terabytes from a few bytes.
  if (outBytes > record.size && outBytes > MAX_EXPANSION) {
    throw new FormatError(
      "E_SHAPE",
      `view [${ref.shape}] of a ${record.size}-byte storage would expand to ${outBytes} bytes`,
      {
        path: ctx.path,
        offset: ctx.baseOffset + record.dataOffset,
      },
    );
  }
  if (out === undefined && outBytes > MAX_READ_BYTES) {
    throw new UsageError(
      "E_USAGE",
      `tensor [${ref.shape}] of storage '${record.name}' needs ${outBytes} bytes for [${region.sizes}], ` +
        `more than one buffer may hold (${MAX_READ_BYTES}); read it in boxes with readTensor(ref, box)`,
      { path: ctx.path, offset: ctx.baseOffset + record.dataOffset },
    );
  }
  if (out !== undefined && out.byteLength !== outBytes) {
    throw new UsageError("E_USAGE", `destination holds ${out.byteLength} bytes, the box needs ${outBytes}`, {
      path: ctx.path,
    });
  }
  let data = out ?? new Uint8Array(0);
  if (outBytes > 0) {
    if (isContiguous(ref.shape, ref.stride)) {
      data = await readRuns(ctx, record, ref, region, itemsize, out);
    } else {
      data = out ?? new Uint8Array(outBytes);
      await gatherStrided(ctx, record, ref, region, itemsize, data);
    }
    if (ctx.bigEndian) byteswapInPlace(data, ref.dtype);
    applySignBits(data, ref.dtype, ref.conj, ref.neg, ctx.path);
  }
  return { dtype: ref.dtype, shape: [...region.sizes], data };
}

/**
 * The byte run of the record that holds `box` of `ref` exactly as a dense row-major copy would (offset in
 * the record's source, length), or undefined when there is none: a view that is not contiguous, stored
 * big-endian or with lazy conj/neg bits, or a box that is not one run of rows over whole trailing dims.
 */
export function tensorRun(
  ctx: RecordReadContext,
  record: ZipEntry,
  ref: TensorRef,
  box: Box,
): { offset: number; length: number } | undefined {
  const itemsize = DTYPE_INFO[ref.dtype].itemsize;
  checkViewFits(ctx, record, ref, itemsize);
  checkBox(ctx, ref, box);
  if (ctx.bigEndian || ref.conj || ref.neg || !isContiguous(ref.shape, ref.stride)) return undefined;
  const rank = box.sizes.length;
  let d = 0;
  while (d < rank && box.sizes[d] === 1) d++;
  for (let k = d + 1; k < rank; k++) if (box.sizes[k] !== ref.shape[k]) return undefined;
  const strides = contiguousStrides(ref.shape);
  const first = ref.storageOffset + box.offsets.reduce((acc, o, k) => acc + o * strides[k], 0);
  return { offset: record.dataOffset + first * itemsize, length: numel(box.sizes) * itemsize };
}

function checkViewFits(ctx: RecordReadContext, record: ZipEntry, ref: TensorRef, itemsize: number): void {
  const where = { path: ctx.path, offset: ctx.baseOffset + record.dataOffset };
  if (ref.storageNumel * itemsize > record.size) {
    throw new FormatError(
      "E_OUT_OF_RANGE",
      `storage '${record.name}' holds ${record.size} bytes, fewer than ${ref.storageNumel} ${ref.dtype}`,
      where,
    );
  }
  if (numel(ref.shape) === 0) return;
  let last = ref.storageOffset;
  for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
  if (!Number.isSafeInteger(last) || last >= ref.storageNumel) {
    throw new FormatError(
      "E_OUT_OF_RANGE",
      `tensor view (offset ${ref.storageOffset}, shape [${ref.shape}], stride [${ref.stride}]) reaches element ${last} of a ${ref.storageNumel}-element storage '${record.name}'`,
      where,
    );
  }
}

function checkBox(ctx: RecordReadContext, ref: TensorRef, box: Box): Box {
  const ok = box.offsets.length === ref.shape.length && box.sizes.length === ref.shape.length &&
    ref.shape.every((dim, d) => {
      const o = box.offsets[d];
      const s = box.sizes[d];
      return Number.isSafeInteger(o) && Number.isSafeInteger(s) && o >= 0 && s >= 0 && o + s <= dim;
    });
  if (!ok) {
    throw new UsageError(
      "E_USAGE",
      `box {offsets [${box.offsets}], sizes [${box.sizes}]} does not fit shape [${ref.shape}]`,
      { path: ctx.path },
    );
  }
  return box;
}

/** torch's notion: strides of size-1 dimensions do not matter. */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const expected = contiguousStrides(shape);
  return shape.every((s, d) => s === 1 || stride[d] === expected[d]);
}

/**
 * Contiguous view: the box is a set of byte runs of the record. Adjacent runs are read straight into the
 * destination; runs with small gaps between them are read together (at most MAX_GAPPED_READ at a time)
 * and copied out. A box that is a single run with no `out` returns the read buffer itself.
 */
async function readRuns(
  ctx: RecordReadContext,
  record: ZipEntry,
  ref: TensorRef,
  region: Box,
  itemsize: number,
  out: Uint8Array | undefined,
): Promise<Uint8Array> {
  const rank = region.sizes.length;
  const strides = contiguousStrides(ref.shape);
  // Merge trailing dimensions the box covers whole into one run.
  let inner = rank - 1;
  let runElems = rank === 0 ? 1 : region.sizes[inner];
  while (inner > 0 && region.sizes[inner] === ref.shape[inner]) {
    inner--;
    runElems *= region.sizes[inner];
  }
  const runBytes = runElems * itemsize;
  const first = ref.storageOffset + region.offsets.reduce((acc, o, d) => acc + o * strides[d], 0);
  let outerRuns = 1;
  for (let d = 0; d < inner; d++) outerRuns *= region.sizes[d];
  if (outerRuns === 1 && out === undefined) return await readRecordRange(ctx, record, first * itemsize, runBytes);
  const dst = out ?? new Uint8Array(outerRuns * runBytes);
  const counter = new Array<number>(Math.max(inner, 0)).fill(0);
  const groupRuns: number[] = []; // record byte offsets of the runs in the current read group
  let groupEnd = 0;
  let groupHasGaps = false;
  let groupOut = 0;
  const flush = async () => {
    const start = groupRuns[0];
    const span = groupEnd - start;
    if (!groupHasGaps) {
      await readSourceInto(ctx.source, record.dataOffset + start, dst.subarray(groupOut, groupOut + span));
      groupOut += span;
    } else {
      const bytes = await readRecordRange(ctx, record, start, span);
      for (const r of groupRuns) {
        dst.set(bytes.subarray(r - start, r - start + runBytes), groupOut);
        groupOut += runBytes;
      }
    }
    groupRuns.length = 0;
    groupHasGaps = false;
  };
  for (;;) {
    let elem = first;
    for (let d = 0; d < inner; d++) elem += counter[d] * strides[d];
    const at = elem * itemsize;
    if (groupRuns.length > 0) {
      const gap = at - groupEnd;
      // Join the previous read when the gap is at most one run (the read stays under twice the box), and
      // cap reads with gaps so their scratch buffer stays small next to the destination.
      if (gap > runBytes || ((gap > 0 || groupHasGaps) && at + runBytes - groupRuns[0] > MAX_GAPPED_READ)) {
        await flush();
      } else if (gap > 0) {
        groupHasGaps = true;
      }
    }
    groupRuns.push(at);
    groupEnd = at + runBytes;
    let d = inner - 1;
    while (d >= 0) {
      if (++counter[d] < region.sizes[d]) break;
      counter[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
  await flush();
  return dst;
}
