import type { DType } from "../../dtype/mod.ts";
import { itemsize } from "../../dtype/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import { type Box, boxNumel, contiguousStrides, copyBox } from "../../tensor/mod.ts";
import { checkConvertible, convertDestination } from "../cpu/convert.ts";
import { checkRegionCopy, type RegionCopy } from "../cpu/region_copy.ts";
import { checkRowGather, type RowGather } from "../cpu/row_gather.ts";
import { type GpuContext, withErrorScopes } from "./device.ts";
import { encodeParams, Kernels } from "./kernels.ts";
import { type ShaderKinds, shaderKinds } from "./kinds.ts";
import { BufferPool, metaBytesFor, type PieceWork, runPieces, type Slot } from "./pipeline.ts";
import {
  dispatchSize,
  originIndex,
  planLinear,
  regionLayout,
  spanElements,
  splitRegion,
  windowBudget,
} from "./planner.ts";

/** Default bytes per staging buffer: big enough to amortise a dispatch, small enough to pipeline. */
export const DEFAULT_STAGING_BYTES = 32 * 1024 * 1024;

/** Writes `bytes` at `offset`, zero-padding the tail to the 4-byte multiple writeBuffer needs. */
function writePadded(queue: GPUQueue, buffer: GPUBuffer, offset: number, bytes: Uint8Array): void {
  const whole = bytes.byteLength & ~3;
  if (whole > 0) queue.writeBuffer(buffer, offset, bytes, 0, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    queue.writeBuffer(buffer, offset + whole, tail);
  }
}

/** The word-aligned slice of a CPU array that holds bytes [start, end), and where `start` lands in it. */
function uploadRange(bytes: Uint8Array, start: number, end: number, bits: number) {
  const from = start & ~3;
  return { data: bytes.subarray(from, Math.min(bytes.byteLength, end)), base: ((start - from) * 8) / bits };
}

/** The GPU half of the engine: kernels, a buffer pool and the pipelined piece runner over one device. */
export class GpuKernelsRunner {
  readonly kernels: Kernels;
  readonly pool: BufferPool;
  readonly stagingBytes: number;
  readonly budget: number;

  constructor(readonly context: GpuContext, stagingBytes = DEFAULT_STAGING_BYTES) {
    const l = context.limits;
    this.stagingBytes = Math.floor(Math.min(stagingBytes, l.maxStorageBufferBindingSize, l.maxBufferSize) / 4) * 4;
    this.budget = windowBudget(l, this.stagingBytes);
    this.kernels = new Kernels(context.device);
    this.pool = new BufferPool(context.device);
  }

  async convert(src: Uint8Array, from: DType, to: DType, into?: Uint8Array): Promise<Uint8Array> {
    checkConvertible(from, to);
    const inSize = itemsize(from);
    if (src.byteLength % inSize !== 0) {
      throw new UsageError("E_USAGE", `${src.byteLength} bytes is not a whole number of ${from} elements`);
    }
    const outSize = itemsize(to);
    const out = convertDestination(src.byteLength / inSize, outSize, into);
    if (from === to) {
      out.set(src);
      return out;
    }
    const kinds = shaderKinds(from, to);
    const pieces = planLinear(
      src.byteLength / inSize,
      kinds.srcBits,
      kinds.dstBits,
      this.context.limits,
      this.stagingBytes,
    );
    await runPieces(
      this.context,
      this.pool,
      this.stagingBytes,
      pieces.map((p): PieceWork => ({
        write: (queue, slot) => {
          writePadded(queue, slot.src, 0, src.subarray(p.first * inSize, (p.first + p.count) * inSize));
          queue.writeBuffer(slot.params, 0, encodeParams({ wordCount: p.words, count: p.count }));
        },
        encode: (encoder, slot) =>
          this.kernels.encode(
            encoder,
            "convert_main",
            kinds,
            { buffer: slot.src, offset: 0, size: p.srcBytes },
            { buffer: slot.out, offset: 0, size: p.dstBytes },
            slot,
            0,
            p.dispatch,
          ),
        readBytes: p.dstBytes,
        consume: (bytes) => out.set(bytes.subarray(0, p.count * outSize), p.first * outSize),
      })),
    );
    return out;
  }

  /**
   * Converts `count` elements that start at `byteOffset` (any multiple of the element size) in a GPU
   * buffer into a new GPU buffer; nothing comes back to the CPU.
   */
  async convertBuffer(
    src: { buffer: GPUBuffer; byteOffset: number },
    count: number,
    from: DType,
    to: DType,
  ): Promise<GPUBuffer> {
    checkConvertible(from, to);
    const kinds = shaderKinds(from, to);
    const inSize = itemsize(from);
    const outSize = itemsize(to);
    if (src.byteOffset % inSize !== 0 || src.byteOffset + count * inSize > src.buffer.size) {
      throw new UsageError("E_OUT_OF_RANGE", "source range is misaligned or outside its GPU buffer");
    }
    const outBytes = Math.max(4, Math.ceil((count * outSize) / 4) * 4);
    if (outBytes > this.context.limits.maxBufferSize) {
      throw new UsageError("E_UNSUPPORTED", `${outBytes} bytes exceed the device's largest buffer`);
    }
    const U = GPUBufferUsage;
    const out = await withErrorScopes(
      this.context,
      "allocating a result buffer",
      () => this.context.device.createBuffer({ size: outBytes, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST }),
    );
    const pieces = from === to && kinds.lanes > 1
      ? planLinear(count * kinds.lanes, 32, 32, this.context.limits, this.stagingBytes)
      : planLinear(count, kinds.srcBits, kinds.dstBits, this.context.limits, this.stagingBytes);
    const align = this.context.limits.minStorageBufferOffsetAlignment;
    await runPieces(
      this.context,
      this.pool,
      this.stagingBytes,
      pieces.map((p): PieceWork => {
        const start = src.byteOffset + (p.first * kinds.srcBits) / 8;
        const offset = Math.floor(start / align) * align;
        const size = Math.min(src.buffer.size - offset, Math.ceil((start + p.srcBytes - offset) / 4) * 4);
        const dstOffset = (p.first * kinds.dstBits) / 8;
        return {
          write: (queue, slot) =>
            queue.writeBuffer(
              slot.params,
              0,
              encodeParams({ wordCount: p.words, count: p.count, srcBase: ((start - offset) * 8) / kinds.srcBits }),
            ),
          encode: (encoder, slot) =>
            this.kernels.encode(
              encoder,
              "convert_main",
              kinds,
              { buffer: src.buffer, offset, size },
              { buffer: out, offset: dstOffset, size: Math.min(p.dstBytes, outBytes - dstOffset) },
              slot,
              0,
              p.dispatch,
            ),
          readBytes: 0,
        };
      }),
    );
    return out;
  }

  async copyRegion(job: RegionCopy): Promise<void> {
    checkRegionCopy(job);
    const kinds = shaderKinds(job.srcDType, job.dstDType);
    // Wide same-dtype elements travel as `lanes` u32 words: one more, innermost, dimension.
    const widen = (b: Box): Box =>
      kinds.lanes === 1 ? b : { offsets: [...b.offsets, 0], sizes: [...b.sizes, kinds.lanes] };
    const srcBox = widen(job.srcBox);
    const region = widen(job.region);
    const srcStrides = contiguousStrides(srcBox.sizes);
    const subs = splitRegion(region, [
      { strides: srcStrides, bits: kinds.srcBits },
      { strides: contiguousStrides(region.sizes), bits: kinds.dstBits },
    ], this.budget);
    const outSize = itemsize(job.dstDType);
    await runPieces(
      this.context,
      this.pool,
      this.stagingBytes,
      subs.map((sub): PieceWork => {
        // Each piece lands densely at the start of the output staging buffer; the CPU scatters it.
        const start = (originIndex(sub, srcBox) * kinds.srcBits) / 8;
        const end = start + Math.ceil((spanElements(sub.sizes, srcStrides) * kinds.srcBits) / 8);
        const upload = uploadRange(job.src, start, end, kinds.srcBits);
        const layout = regionLayout(sub, srcBox, sub);
        const n = boxNumel(sub);
        const words = Math.ceil((n * kinds.dstBits) / 32);
        const unwiden = (b: Box): Box =>
          kinds.lanes === 1 ? b : { offsets: b.offsets.slice(0, -1), sizes: b.sizes.slice(0, -1) };
        return {
          write: (queue, slot) => {
            writePadded(queue, slot.src, 0, upload.data);
            queue.writeBuffer(slot.params, 0, encodeParams({ wordCount: words, srcBase: upload.base }));
            queue.writeBuffer(slot.meta, 0, layout);
          },
          encode: (encoder, slot) =>
            this.#encodeStaged(
              encoder,
              "region_copy_main",
              kinds,
              slot,
              upload.data.byteLength,
              words,
              layout.byteLength,
            ),
          readBytes: words * 4,
          consume: (bytes) => {
            const box = unwiden(sub);
            copyBox(bytes, box, job.dst, job.dstBox, box, outSize);
          },
        };
      }),
    );
  }

  /** Encodes a region copy or row gather from the slot's staged upload into `words` words of its output. */
  #encodeStaged(
    encoder: GPUCommandEncoder,
    entry: "region_copy_main" | "row_gather_main",
    kinds: ShaderKinds,
    slot: Slot,
    uploadBytes: number,
    words: number,
    metaBytes: number,
  ): void {
    this.kernels.encode(
      encoder,
      entry,
      kinds,
      { buffer: slot.src, offset: 0, size: Math.max(4, Math.ceil(uploadBytes / 4) * 4) },
      { buffer: slot.out, offset: 0, size: words * 4 },
      slot,
      metaBytes,
      dispatchSize(words, this.context.limits),
    );
  }

  async gatherRows(job: RowGather): Promise<Uint8Array> {
    const rowBytes = checkRowGather(job);
    const kinds = shaderKinds(job.srcDType, job.dstDType);
    const outRowBytes = job.rowElements * itemsize(job.dstDType);
    const out = new Uint8Array(job.rows.length * outRowBytes);
    if (rowBytes === 0 || job.rows.length === 0) return out;
    const rowElements = job.rowElements * kinds.lanes;
    const maxRows = metaBytesFor(this.stagingBytes) / 4;
    const pieces = [...rowPieces(job.rows, rowBytes, outRowBytes, this.budget, maxRows)];
    await runPieces(
      this.context,
      this.pool,
      this.stagingBytes,
      pieces.map((p): PieceWork => {
        const upload = uploadRange(job.src, p.minRow * rowBytes, (p.maxRow + 1) * rowBytes, kinds.srcBits);
        const meta = new Uint32Array(p.count);
        for (let r = 0; r < p.count; r++) meta[r] = job.rows[p.first + r] - p.minRow;
        const count = p.count * rowElements;
        const words = Math.ceil((count * kinds.dstBits) / 32);
        return {
          write: (queue, slot: Slot) => {
            writePadded(queue, slot.src, 0, upload.data);
            queue.writeBuffer(slot.meta, 0, meta);
            queue.writeBuffer(
              slot.params,
              0,
              encodeParams({ wordCount: words, srcBase: upload.base, count, rowElements }),
            );
          },
          encode: (encoder, slot) =>
            this.#encodeStaged(encoder, "row_gather_main", kinds, slot, upload.data.byteLength, words, meta.byteLength),
          readBytes: words * 4,
          consume: (bytes) => out.set(bytes.subarray(0, p.count * outRowBytes), p.first * outRowBytes),
        };
      }),
    );
    return out;
  }

  dispose(): void {
    this.pool.destroy();
  }
}

/** Greedy cut of the output rows: each piece's source span, output and index list fit one binding. */
function* rowPieces(
  rows: ArrayLike<number>,
  rowBytes: number,
  outRowBytes: number,
  budget: number,
  indexCapacity: number,
) {
  const maxRows = Math.min(indexCapacity, Math.floor(budget / Math.max(outRowBytes, 1)));
  if (maxRows < 1 || rowBytes > budget) throw new UsageError("E_UNSUPPORTED", "one row does not fit a GPU binding");
  let first = 0;
  while (first < rows.length) {
    let minRow = rows[first];
    let maxRow = rows[first];
    let count = 1;
    while (first + count < rows.length && count < maxRows) {
      const r = rows[first + count];
      const lo = Math.min(minRow, r);
      const hi = Math.max(maxRow, r);
      if ((hi - lo + 1) * rowBytes > budget) break;
      minRow = lo;
      maxRow = hi;
      count++;
    }
    yield { first, count, minRow, maxRow };
    first += count;
  }
}
