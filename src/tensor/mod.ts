/**
 * Dense tensors (`Tensor`: dtype, shape, row-major bytes), boxes of them (`Box`) and the one entry type of
 * every checkpoint format (`TensorEntry`, `ValueEntry`, `StoredChunk`).
 *
 * @example
 * ```ts
 * import { intersectBoxes, makeTensor, wholeBox } from "./mod.ts";
 *
 * const t = makeTensor("float32", [4, 2]);
 * const overlap = intersectBoxes(wholeBox(t.shape), { offsets: [2, 0], sizes: [4, 2] });
 * if (overlap?.sizes.join() !== "2,2") throw new Error("the overlap is rows 2 and 3");
 * ```
 * @module
 */
export * from "./tensor.ts";
export * from "./box.ts";
export * from "./entry.ts";
