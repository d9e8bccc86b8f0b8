import { invariant } from "../errors/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { DTYPE_INFO } from "../dtype/mod.ts";
import type { StateDictAdapter } from "../adapters/mod.ts";
import type { Engine } from "../engine/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { byteSize } from "../tensor/mod.ts";
import type { Selected, Selection } from "../source/mod.ts";
import type { TensorEntry, TensorSource } from "../source/mod.ts";

/** One tensor of the output and how to produce it from the source. */
export interface TargetTensor {
  /** The output name. */
  name: string;
  /** The source tensor it is made from. */
  source: TensorEntry;
  /** Output dtype (the source dtype unless a floating cast applies). */
  dtype: DType;
  /** The output shape. */
  shape: number[];
  /** Output row `i` is source row `rowPermutation[i]` (llama3 rotary layout of wq/wk). */
  rowPermutation?: Int32Array;
  /** Output bytes. */
  bytes: number;
}

/** Options of `planTargets`. */
export interface TargetOptions {
  /** Cast floating tensors to this dtype (integers and bools are kept). */
  dtype?: DType;
  /** A model mapping applied to the selected tensors. */
  adapter?: StateDictAdapter;
  /** Named in adapter errors. */
  path?: string;
}

/** The output dtype of a tensor: `to` for floating tensors when given, else the stored dtype. */
export function castDType(from: DType, to: DType | undefined): DType {
  return to !== undefined && DTYPE_INFO[from].floating && DTYPE_INFO[to].floating ? to : from;
}

/** Applies the adapter mapping (if any) and the dtype cast to the selected tensors. */
export function planTargets(selection: Selection, opts: TargetOptions): { targets: TargetTensor[]; dropped: string[] } {
  const byName = new Map<string, Selected<TensorEntry>>(selection.tensors.map((s) => [s.name, s]));
  const make = (name: string, src: Selected<TensorEntry>, shape: number[], perm?: Int32Array): TargetTensor => {
    const dtype = castDType(src.entry.dtype, opts.dtype);
    return { name, source: src.entry, dtype, shape, rowPermutation: perm, bytes: byteSize(dtype, shape) };
  };
  if (!opts.adapter) {
    return { targets: selection.tensors.map((s) => make(s.name, s, s.entry.shape)), dropped: [] };
  }
  const plan = opts.adapter.plan(
    selection.tensors.map((s) => ({ name: s.name, dtype: s.entry.dtype, shape: s.entry.shape })),
    { path: opts.path },
  );
  const targets = plan.entries.map((e) => {
    const source = byName.get(e.sourceName);
    invariant(source, `the adapter plans only the selected tensors (${e.sourceName})`);
    return make(e.targetName, source, e.shape, e.rowPermutation);
  });
  return { targets, dropped: plan.dropped.map((d) => `${d.name} (${d.reason})`) };
}

/**
 * Reads the `box` region of a target tensor in the target's dtype: source rows are gathered through the
 * row permutation (reading only the source rows the box needs) and floating data is cast by the engine.
 */
export async function readTargetBox(
  source: TensorSource,
  target: TargetTensor,
  box: Box,
  engine: Engine,
): Promise<Uint8Array> {
  const perm = target.rowPermutation;
  if (perm && box.sizes.length > 0 && box.sizes[0] > 0) {
    const start = box.offsets[0];
    const rows = box.sizes[0];
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < start + rows; i++) {
      lo = Math.min(lo, perm[i]);
      hi = Math.max(hi, perm[i]);
    }
    const srcBox: Box = { offsets: [lo, ...box.offsets.slice(1)], sizes: [hi - lo + 1, ...box.sizes.slice(1)] };
    const t = await source.readTensor(target.source.name, srcBox);
    const indices = new Int32Array(rows);
    for (let i = 0; i < rows; i++) indices[i] = perm[start + i] - lo;
    const rowElements = box.sizes.slice(1).reduce((a, b) => a * b, 1);
    // The gather casts on the way, so the permuted rows are written once.
    return await engine.gatherRows({
      src: t.data,
      srcDType: target.source.dtype,
      dstDType: target.dtype,
      rowElements,
      rows: indices,
    });
  }
  const data = (await source.readTensor(target.source.name, box)).data;
  return target.dtype === target.source.dtype ? data : await engine.convert(data, target.source.dtype, target.dtype);
}
