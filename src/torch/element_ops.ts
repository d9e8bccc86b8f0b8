import { type DType, DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";

function isComplex(dtype: DType): boolean {
  return dtype === "complex32" || dtype === "complex64" || dtype === "complex128";
}

/** Reverses the bytes of every scalar; a complex element is two scalars, as torch's byteswap treats it. */
export function byteswapInPlace(data: Uint8Array, dtype: DType): void {
  const info = DTYPE_INFO[dtype];
  const width = isComplex(dtype) ? info.itemsize / 2 : info.itemsize;
  if (width === 1) return;
  for (let i = 0; i + width <= data.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = data[a];
      data[a] = data[b];
      data[b] = t;
    }
  }
}

/** float8 formats whose top bit is not a plain sign bit (no negative numbers, or -0 encodes NaN). */
const NO_SIGN_BIT = new Set<DType>(["float8_e8m0fnu", "float8_e4m3fnuz", "float8_e5m2fnuz"]);

/**
 * Materialises torch's lazy conjugate and negative bits on little-endian element bytes by flipping sign
 * bits, which is exact for IEEE-style floats (negation never rounds).
 */
export function applySignBits(data: Uint8Array, dtype: DType, conj: boolean, neg: boolean, path?: string): void {
  if (!conj && !neg) return;
  const size = DTYPE_INFO[dtype].itemsize;
  const complex = isComplex(dtype);
  if (conj && !complex) return; // conj of a real tensor is the identity
  if (neg && (!DTYPE_INFO[dtype].floating && !complex || NO_SIGN_BIT.has(dtype))) {
    throw new FormatError("E_UNSUPPORTED", `a lazily negated ${dtype} tensor is not supported`, { path });
  }
  const half = size / 2;
  // top byte of the real part (only flipped by neg) and of the imaginary part (flipped by conj xor neg)
  const realTop = complex ? half - 1 : size - 1;
  const flipReal = neg;
  const flipImag = complex && conj !== neg;
  for (let i = 0; i < data.length; i += size) {
    if (flipReal) data[i + realTop] ^= 0x80;
    if (flipImag) data[i + size - 1] ^= 0x80;
  }
}
