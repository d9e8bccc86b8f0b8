/**
 * What a load will do, worked out from metadata and headers before any tensor data moves: the GPU buffers
 * (tensors above the device's buffer limits split into row-aligned parts), and the pieces of stored bytes
 * that fill them, coalesced into requests.
 */
import type { SourceFormat, TensorEntry, TensorSource } from "../source/mod.ts";
import { type DType, DTYPE_INFO, itemsize } from "../dtype/mod.ts";
import { GpuError, UsageError } from "../errors/mod.ts";
import { canConvert } from "../dtype/mod.ts";
import { sourceOrigin } from "../storage/mod.ts";
import { planRanges, type RangeRequest, type WantedRange } from "../storage/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { numel, wholeBox } from "../tensor/mod.ts";

/** One GPU buffer of a tensor: dim-0 rows `[firstRow, firstRow + rows)`. */
export interface PartPlan {
  firstRow: number;
  rows: number;
  /** Offset of the part's first byte in the tensor's (cast) bytes. */
  byteOffset: number;
  byteLength: number;
}

export interface TensorPlan {
  entry: TensorEntry;
  to: DType;
  byteLength: number;
  parts: PartPlan[];
}

/**
 * Stored bytes of one tensor part (at most the staging size), cast into the part at `outOffset`: bytes kept
 * as they are go to the GPU as they arrive, bytes to cast once the piece is whole.
 */
export interface Segment {
  tensor: number;
  part: number;
  outOffset: number;
  from: DType;
  to: DType;
  source: ByteSource;
  /** Offset in `source`, and the stored bytes (whole elements). */
  offset: number;
  length: number;
}

/** A band of rows read through `readTensor` (tensors whose bytes are not one stored run per piece). */
export interface Band {
  tensor: number;
  part: number;
  firstRow: number;
  rows: number;
  outOffset: number;
}

/** The plan a load reports (`onPlan`, and in its result) before the first data byte moves. */
export interface LoadPlan {
  /** The input's format. */
  format: SourceFormat;
  /** Tensors the load places (those the device can hold). */
  tensors: number;
  /** Stored bytes the load reads (tensor data). */
  sourceBytes: number;
  /** Bytes of the GPU buffers it creates, and how many. */
  gpuBytes: number;
  /** GPU buffers the load creates (one per tensor part). */
  buffers: number;
  /** Tensors split over several buffers to stay within the device's limits. */
  split: { name: string; parts: number; rowsPerPart: number }[];
  /** Storage requests: those already sent and those still to send. */
  requests: {
    /** Requests already sent for metadata and headers (probe included). */
    headers: number;
    /** Data requests still to send (ranges coalesced across neighbouring tensors and items). */
    data: number;
    /** Tensors read band by band instead (their stored bytes are not one run per piece). */
    bandedTensors: number;
  };
  /** Host memory the pipeline uses at most: its staging buffers plus the header windows it holds. */
  hostBytes: number;
  /** The largest buffer allowed, min(maxBufferSize, maxStorageBufferBindingSize). */
  maxPartBytes: number;
  /** Whether every tensor fits the device's buffers; `loadToGpu` refuses the load otherwise (E_UNSUPPORTED). */
  fitsDevice: boolean;
  /** Why a tensor does not fit, one message per tensor; empty when `fitsDevice`. */
  problems: string[];
}

export interface PlanInput {
  source: TensorSource;
  tensors: TensorEntry[];
  dtype?: DType;
  maxPartBytes: number;
  stagingBytes: number;
  /** Longest request: neighbouring pieces of a file are coalesced up to this many bytes. */
  requestBytes: number;
  /** Whether the bytes of a request are already in memory (then it costs no request). */
  held(path: string, offset: number, length: number): boolean;
}

export interface BuiltPlan {
  tensors: TensorPlan[];
  requests: RangeRequest<Segment>[];
  bands: Band[];
  plan: Omit<LoadPlan, "format" | "requests" | "hostBytes"> & { dataRequests: number };
}

export function targetDType(stored: DType, wanted: DType | undefined): DType {
  if (wanted === undefined || wanted === stored || !DTYPE_INFO[stored].floating) return stored;
  if (!canConvert(stored, wanted)) throw new UsageError("E_UNSUPPORTED", `cannot cast ${stored} to ${wanted}`);
  return wanted;
}

/** Row-aligned parts of at most `maxPartBytes` each (one part when the tensor fits). */
export function splitRows(entry: TensorEntry, to: DType, maxPartBytes: number): PartPlan[] {
  const rows = entry.shape.length === 0 ? 1 : entry.shape[0];
  const rowBytes = numel(entry.shape.slice(1)) * itemsize(to);
  const total = rows * rowBytes;
  if (Math.ceil(total / 4) * 4 <= maxPartBytes || total === 0) {
    return [{ firstRow: 0, rows, byteOffset: 0, byteLength: total }];
  }
  // Limits are multiples of 4 in practice; flooring keeps each part's padding to 4 bytes within them.
  const fit = Math.floor(Math.floor(maxPartBytes / 4) * 4 / rowBytes);
  if (fit === 0) {
    throw new GpuError(
      "E_UNSUPPORTED",
      `${entry.name}: one row is ${rowBytes} bytes, more than the device's ${maxPartBytes}-byte buffer limit`,
    );
  }
  const parts: PartPlan[] = [];
  for (let first = 0; first < rows; first += fit) {
    const n = Math.min(fit, rows - first);
    parts.push({ firstRow: first, rows: n, byteOffset: first * rowBytes, byteLength: n * rowBytes });
  }
  return parts;
}

export async function buildPlan(input: PlanInput): Promise<BuiltPlan> {
  const tensors: TensorPlan[] = [];
  const wanted: WantedRange<Segment>[] = [];
  const bands: Band[] = [];
  const problems: string[] = [];
  let sourceBytes = 0;
  let gpuBytes = 0;
  let buffers = 0;
  for (const entry of input.tensors) {
    const to = targetDType(entry.dtype, input.dtype);
    let parts: PartPlan[];
    try {
      parts = splitRows(entry, to, input.maxPartBytes);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    const t = tensors.push({ entry, to, byteLength: numel(entry.shape) * itemsize(to), parts }) - 1;
    sourceBytes += entry.bytes;
    buffers += parts.length;
    for (const p of parts) gpuBytes += Math.max(4, Math.ceil(p.byteLength / 4) * 4);
    if (entry.bytes === 0) continue;
    const ranges = input.source.locate ? await input.source.locate(entry.name, wholeBox(entry.shape)) : undefined;
    if (ranges === undefined) {
      bands.push(...bandsOf(t, entry, to, parts, input.stagingBytes));
      continue;
    }
    const inSize = itemsize(entry.dtype);
    const outSize = itemsize(to);
    // Pieces keep whole groups of 4 elements, so every piece starts on a 4-byte boundary of its part.
    const pieceElements = Math.max(4, Math.floor(input.stagingBytes / inSize / 4) * 4);
    let element = 0;
    let part = 0;
    for (const r of ranges) {
      const origin = sourceOrigin(r.source);
      let done = 0;
      while (done < r.length) {
        while (element * outSize >= parts[part].byteOffset + parts[part].byteLength) part++;
        const p = parts[part];
        const partEndElement = (p.byteOffset + p.byteLength) / outSize;
        const count = Math.min((r.length - done) / inSize, pieceElements, partEndElement - element);
        const seg: Segment = {
          tensor: t,
          part,
          outOffset: element * outSize - p.byteOffset,
          from: entry.dtype,
          to,
          source: origin.source,
          offset: origin.offset + r.offset + done,
          length: count * inSize,
        };
        wanted.push({ path: origin.source.path, offset: seg.offset, length: seg.length, tag: seg });
        element += count;
        done += count * inSize;
      }
    }
  }
  const requests = planRanges(wanted, { maxLength: input.requestBytes });
  const dataRequests = requests.filter((r) => !input.held(r.path, r.offset, r.length)).length;
  return {
    tensors,
    requests,
    bands,
    plan: {
      tensors: tensors.length,
      sourceBytes,
      gpuBytes,
      buffers,
      split: tensors.filter((t) => t.parts.length > 1).map((t) => ({
        name: t.entry.name,
        parts: t.parts.length,
        rowsPerPart: t.parts[0].rows,
      })),
      maxPartBytes: input.maxPartBytes,
      fitsDevice: problems.length === 0,
      problems,
      dataRequests,
    },
  };
}

/** Row bands of at most `stagingBytes` stored bytes (at least one row), never across a part boundary. */
function bandsOf(t: number, entry: TensorEntry, to: DType, parts: PartPlan[], stagingBytes: number): Band[] {
  const rowIn = numel(entry.shape.slice(1)) * itemsize(entry.dtype);
  const rowOut = numel(entry.shape.slice(1)) * itemsize(to);
  const perBand = Math.max(1, Math.floor(stagingBytes / Math.max(1, rowIn)));
  const out: Band[] = [];
  parts.forEach((p, part) => {
    for (let r = 0; r < p.rows; r += perBand) {
      const rows = Math.min(perBand, p.rows - r);
      out.push({ tensor: t, part, firstRow: p.firstRow + r, rows, outOffset: r * rowOut });
    }
  });
  return out;
}
