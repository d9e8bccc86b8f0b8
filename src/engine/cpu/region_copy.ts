import type { DType } from "../../dtype/mod.ts";
import { itemsize } from "../../dtype/mod.ts";
import { UsageError } from "../../errors/mod.ts";
import { type Box, boxNumel, copyBox } from "../../tensor/mod.ts";
import { checkConvertible, convertCpu } from "./convert.ts";

/**
 * One region copy: the global box `region` is read from `src` (a row-major chunk holding global box
 * `srcBox`, of `srcDType`) and written, converted to `dstDType`, into `dst` (holding `dstBox`).
 * Elements of `dst` outside the region are left as they are.
 */
export interface RegionCopy {
  /** The source chunk's bytes. */
  src: Uint8Array;
  /** The global box the source chunk holds. */
  srcBox: Box;
  /** The source dtype. */
  srcDType: DType;
  /** The destination chunk's bytes. */
  dst: Uint8Array;
  /** The global box the destination chunk holds. */
  dstBox: Box;
  /** The destination dtype. */
  dstDType: DType;
  /** The global box copied (inside both chunks). */
  region: Box;
}

/** Checks that the boxes agree in rank, the region lies inside both chunks and the buffers are big enough. */
export function checkRegionCopy(job: RegionCopy): void {
  checkConvertible(job.srcDType, job.dstDType);
  const rank = job.region.sizes.length;
  for (const [name, box] of [["srcBox", job.srcBox], ["dstBox", job.dstBox], ["region", job.region]] as const) {
    if (box.offsets.length !== rank || box.sizes.length !== rank) {
      throw new UsageError("E_USAGE", `${name} has rank ${box.sizes.length}, the region has rank ${rank}`);
    }
    if (box.sizes.some((s, d) => !Number.isSafeInteger(s) || s < 0 || !Number.isSafeInteger(box.offsets[d]))) {
      throw new UsageError("E_USAGE", `${name} has a negative or non-integer size or offset`);
    }
  }
  for (let d = 0; d < rank; d++) {
    const lo = job.region.offsets[d];
    const hi = lo + job.region.sizes[d];
    if (job.region.sizes[d] === 0) continue;
    for (const box of [job.srcBox, job.dstBox]) {
      if (lo < box.offsets[d] || hi > box.offsets[d] + box.sizes[d]) {
        throw new UsageError("E_OUT_OF_RANGE", `region [${lo}, ${hi}) leaves a chunk in dimension ${d}`);
      }
    }
  }
  if (job.src.byteLength < boxNumel(job.srcBox) * itemsize(job.srcDType)) {
    throw new UsageError("E_OUT_OF_RANGE", "source buffer is smaller than its box");
  }
  if (job.dst.byteLength < boxNumel(job.dstBox) * itemsize(job.dstDType)) {
    throw new UsageError("E_OUT_OF_RANGE", "destination buffer is smaller than its box");
  }
}

/** Region copy on the CPU: the reference the region_copy shader is tested against. */
export function copyRegionCpu(job: RegionCopy): void {
  checkRegionCopy(job);
  if (job.srcDType === job.dstDType) {
    copyBox(job.src, job.srcBox, job.dst, job.dstBox, job.region, itemsize(job.srcDType));
    return;
  }
  // Gather the region densely, convert it in one pass, then scatter it: each byte is touched a fixed
  // number of times and the conversion runs on the tight loops of convertCpu.
  const dense = new Uint8Array(boxNumel(job.region) * itemsize(job.srcDType));
  copyBox(job.src, job.srcBox, dense, job.region, job.region, itemsize(job.srcDType));
  const converted = convertCpu(dense, job.srcDType, job.dstDType);
  copyBox(converted, job.region, job.dst, job.dstBox, job.region, itemsize(job.dstDType));
}
