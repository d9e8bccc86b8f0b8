import { invariant } from "../errors/mod.ts";
/**
 * The declaration order of the reference `Dtype` enum (safetensors 0.8, observed through
 * `safetensors.torch.save_file`), which its writer sorts by, descending, before names. It is not plain
 * alignment: dtypes of equal size keep this fixed order (U64 > I64 > F64 > C64 > F32 > U32 > I32 ...).
 */
const REFERENCE_DTYPE_ORDER: readonly string[] = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
];

/** Where the reference writer puts a dtype in a file (larger alignment first). */
export function referenceDtypeRank(code: string): number {
  return REFERENCE_DTYPE_ORDER.indexOf(code);
}

/**
 * Orders strings by Unicode code point, which equals Rust's byte-wise `String` order and Python's `str`
 * order (JavaScript's `<` compares UTF-16 units and disagrees above U+FFFF).
 */
export function compareCodePoints(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i] - y[i];
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i);
    invariant(c !== undefined, "i is inside the string");
    out.push(c);
    if (c > 0xFFFF) i++;
  }
  return out;
}
