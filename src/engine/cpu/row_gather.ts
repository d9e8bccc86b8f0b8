import type { DType } from "../../dtype/mod.ts";
import { itemsize } from "../../dtype/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import { convertCpu } from "./convert.ts";

/**
 * Row gather: output row r is input row `rows[r]` (each row `rowElements` elements of `srcDType`),
 * converted to `dstDType`. Permutations such as llama3's rotary row reorder are gathers.
 */
export interface RowGather {
  /** The source rows. */
  src: Uint8Array;
  /** The source dtype. */
  srcDType: DType;
  /** The destination dtype. */
  dstDType: DType;
  /** Elements per row. */
  rowElements: number;
  /** Destination row `r` is source row `rows[r]`. */
  rows: ArrayLike<number>;
}

export function checkRowGather(job: RowGather): number {
  const rowBytes = job.rowElements * itemsize(job.srcDType);
  if (!Number.isSafeInteger(job.rowElements) || job.rowElements < 0) {
    throw new UsageError("E_USAGE", `row length ${job.rowElements} is not a non-negative integer`);
  }
  const rowCount = rowBytes === 0 ? 0 : job.src.byteLength / rowBytes;
  if (rowBytes !== 0 && !Number.isInteger(rowCount)) {
    throw new UsageError("E_USAGE", `${job.src.byteLength} bytes is not a whole number of ${rowBytes}-byte rows`);
  }
  for (let r = 0; r < job.rows.length; r++) {
    const from = job.rows[r];
    if (!Number.isInteger(from) || from < 0 || (rowBytes !== 0 && from >= rowCount)) {
      throw new UsageError("E_OUT_OF_RANGE", `row index ${from} (output row ${r}) is outside ${rowCount} rows`);
    }
  }
  return rowBytes;
}

/** Row gather on the CPU: the reference the row_gather shader is tested against. */
export function gatherRowsCpu(job: RowGather): Uint8Array {
  const rowBytes = checkRowGather(job);
  const gathered = new Uint8Array(job.rows.length * rowBytes);
  for (let r = 0; r < job.rows.length; r++) {
    const at = job.rows[r] * rowBytes;
    gathered.set(job.src.subarray(at, at + rowBytes), r * rowBytes);
  }
  return job.srcDType === job.dstDType ? gathered : convertCpu(gathered, job.srcDType, job.dstDType);
}
