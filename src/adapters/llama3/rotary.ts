import { UsageError } from "../../errors/mod.ts";

/*
 * Meta/TorchTitan keep each head's query/key rows as interleaved (real, imag) pairs; HuggingFace keeps a
 * head's "real" halves first, then its "imag" halves. Moving between them only reorders rows within a head,
 * so it is expressed as a row permutation: target row i = source row perm[i].
 */

function headLayout(nHeads: number, rows: number): { headDim: number; half: number } {
  if (!Number.isSafeInteger(nHeads) || nHeads <= 0 || !Number.isSafeInteger(rows) || rows % nHeads !== 0) {
    throw new UsageError("E_USAGE", `cannot split ${rows} rows into ${nHeads} rotary heads`);
  }
  const headDim = rows / nHeads;
  if (headDim % 2 !== 0) throw new UsageError("E_USAGE", `rotary head size ${headDim} is odd`);
  return { headDim, half: headDim / 2 };
}

/** TorchTitan -> HF (`permute`): `HF[h*hd + j*hd/2 + i] = TT[h*hd + 2*i + j]`. */
export function rotaryToHfRows(nHeads: number, rows: number): Int32Array {
  const { headDim, half } = headLayout(nHeads, rows);
  const perm = new Int32Array(rows);
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      perm[base + i] = base + 2 * i;
      perm[base + half + i] = base + 2 * i + 1;
    }
  }
  return perm;
}

/** HF -> TorchTitan (`reverse_permute`): `TT[h*hd + 2*i + j] = HF[h*hd + j*hd/2 + i]`; the inverse of the above. */
export function rotaryFromHfRows(nHeads: number, rows: number): Int32Array {
  const { headDim, half } = headLayout(nHeads, rows);
  const perm = new Int32Array(rows);
  for (let h = 0; h < nHeads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      perm[base + 2 * i] = base + i;
      perm[base + 2 * i + 1] = base + half + i;
    }
  }
  return perm;
}
