import { itemsize } from "../dtype/mod.ts";
import { invariant, UsageError } from "../errors/mod.ts";
import type { ByteSource, StoredRange } from "../storage/mod.ts";
import { readSourceInto } from "../storage/mod.ts";
import type { Box, Tensor } from "../tensor/mod.ts";
import { boxNumel, copyBox, intersectBoxes, makeTensor } from "../tensor/mod.ts";
import type { SafetensorsHeader } from "./header.ts";

/** Bytes per range read: bounded so no single read nears the 2 GiB backend limit or wastes memory. */
const READ_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Where the bytes of `box` of tensor `name` sit in the file: one stored range when the box is rows over
 * whole trailing dimensions (as safetensors stores tensors dense and row-major), else undefined. What a sink
 * copies without reading (`ByteSink.copyFrom`); there is no checksum to go with it.
 */
export function locateSafetensorsTensor(
  source: ByteSource,
  header: SafetensorsHeader,
  name: string,
  box: Box,
): StoredRange[] | undefined {
  const info = header.tensors.get(name);
  if (info === undefined) throw new UsageError("E_MISSING_KEY", `no tensor named '${name}'`, { path: source.path });
  const { shape } = info;
  checkBox(box, shape, name, source.path);
  if (!box.sizes.every((s, d) => d === 0 || s === shape[d])) return undefined;
  const elem = itemsize(info.dtype);
  const row = shape.slice(1).reduce((a, b) => a * b, elem);
  return [{
    source,
    offset: info.begin + (shape.length === 0 ? 0 : box.offsets[0] * row),
    length: boxNumel(box) * elem,
  }];
}

/**
 * Reads tensor `name` as a dense row-major tensor. With `box`, returns only that region (shape =
 * `box.sizes`), reading just the dim-0 rows the box spans (whole rows, in reads of at most 64 MiB; a
 * row larger than that is split along the next dimension). With `out` (exactly the region's byte size) the
 * bytes land there; a region that is one contiguous range of the file is read straight into it.
 */
export async function readSafetensorsTensor(
  source: ByteSource,
  header: SafetensorsHeader,
  name: string,
  box?: Box,
  out?: Uint8Array,
): Promise<Tensor> {
  const info = header.tensors.get(name);
  if (info === undefined) {
    throw new UsageError("E_MISSING_KEY", `no tensor named '${name}'`, { path: source.path });
  }
  const { dtype, shape } = info;
  const region = box ?? { offsets: shape.map(() => 0), sizes: [...shape] };
  checkBox(region, shape, name, source.path);
  const elem = itemsize(dtype);
  if (out !== undefined && out.byteLength !== boxNumel(region) * elem) {
    throw new UsageError(
      "E_USAGE",
      `destination holds ${out.byteLength} bytes, the box needs ${boxNumel(region) * elem}`,
      {
        path: source.path,
      },
    );
  }
  const result = makeTensor(dtype, [...region.sizes], out);
  if (boxNumel(region) === 0) return result;
  const rank = shape.length;
  // Byte size of one index step in each dim, i.e. of one "row" at that depth.
  const rowBytes = new Array<number>(rank);
  for (let d = rank - 1, s = elem; d >= 0; d--) (rowBytes[d] = s, (s *= shape[d]));
  // Whole trailing dimensions: the region is rows [offsets[0], offsets[0] + sizes[0]) of one byte range.
  if (rank === 0 || region.sizes.every((s, d) => d === 0 || s === shape[d])) {
    await readSourceInto(source, info.begin + (rank === 0 ? 0 : region.offsets[0] * rowBytes[0]), result.data);
    return result;
  }
  let depth = 0;
  while (depth < rank - 1 && rowBytes[depth] > READ_CHUNK_BYTES) depth++;
  const rowsPerRead = Math.max(1, Math.floor(READ_CHUNK_BYTES / rowBytes[depth]));

  // Odometer over the box's indices in the dims above `depth` (none when depth is 0).
  const prefix = region.offsets.slice(0, depth);
  for (;;) {
    let base = info.begin;
    for (let d = 0; d < depth; d++) base += prefix[d] * rowBytes[d];
    const first = region.offsets[depth];
    const stop = first + region.sizes[depth];
    for (let r = first; r < stop; r += rowsPerRead) {
      const n = Math.min(rowsPerRead, stop - r);
      const bytes = await source.read(base + r * rowBytes[depth], n * rowBytes[depth]);
      const held: Box = {
        offsets: [...prefix, r, ...shape.slice(depth + 1).map(() => 0)],
        sizes: [...prefix.map(() => 1), n, ...shape.slice(depth + 1)],
      };
      const overlap = intersectBoxes(held, region);
      invariant(overlap, "the rows read lie inside the region");
      copyBox(bytes, held, result.data, region, overlap, elem);
    }
    let d = depth - 1;
    while (d >= 0 && ++prefix[d] === region.offsets[d] + region.sizes[d]) (prefix[d] = region.offsets[d], d--);
    if (d < 0) return result;
  }
}

function checkBox(box: Box, shape: readonly number[], name: string, path: string): void {
  const ok = box.offsets.length === shape.length && box.sizes.length === shape.length &&
    shape.every((dim, d) => {
      const o = box.offsets[d], s = box.sizes[d];
      return Number.isSafeInteger(o) && Number.isSafeInteger(s) && o >= 0 && s >= 0 && o + s <= dim;
    });
  if (!ok) {
    throw new UsageError(
      "E_OUT_OF_RANGE",
      `box offsets [${box.offsets}] sizes [${box.sizes}] do not fit tensor '${name}' of shape [${shape}]`,
      { path },
    );
  }
}
