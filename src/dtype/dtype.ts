import { FormatError } from "../errors/mod.ts";

/** Tensor element types, named as torch names them (`torch.<name>`). */
export const DTYPES = [
  "float64",
  "float32",
  "float16",
  "bfloat16",
  "float8_e4m3fn",
  "float8_e5m2",
  "float8_e4m3fnuz",
  "float8_e5m2fnuz",
  "float8_e8m0fnu",
  "complex128",
  "complex64",
  "complex32",
  "int64",
  "int32",
  "int16",
  "int8",
  "uint64",
  "uint32",
  "uint16",
  "uint8",
  "bool",
] as const;

/** A tensor element type, named as torch names it (`float32`, `bfloat16`, `int64`, ...). */
export type DType = typeof DTYPES[number];

/** What each format and the engine need to know of a dtype. */
export interface DTypeInfo {
  /** Bytes per element. */
  itemsize: number;
  /** Floating point (real) type: the ones `--dtype` casts apply to. */
  floating: boolean;
  /** torch's legacy typed-storage class name (`torch.<X>`), or undefined for `UntypedStorage` dtypes. */
  storageClass?: string;
  /** safetensors dtype code, when the format has one. */
  safetensors?: string;
}

/** The facts of every dtype: size, floating or not, safetensors code and torch storage class. */
export const DTYPE_INFO: Readonly<Record<DType, DTypeInfo>> = {
  float64: { itemsize: 8, floating: true, storageClass: "DoubleStorage", safetensors: "F64" },
  float32: { itemsize: 4, floating: true, storageClass: "FloatStorage", safetensors: "F32" },
  float16: { itemsize: 2, floating: true, storageClass: "HalfStorage", safetensors: "F16" },
  bfloat16: { itemsize: 2, floating: true, storageClass: "BFloat16Storage", safetensors: "BF16" },
  float8_e4m3fn: { itemsize: 1, floating: true, safetensors: "F8_E4M3" },
  float8_e5m2: { itemsize: 1, floating: true, safetensors: "F8_E5M2" },
  float8_e4m3fnuz: { itemsize: 1, floating: true, safetensors: "F8_E4M3FNUZ" },
  float8_e5m2fnuz: { itemsize: 1, floating: true, safetensors: "F8_E5M2FNUZ" },
  float8_e8m0fnu: { itemsize: 1, floating: true, safetensors: "F8_E8M0" },
  complex128: { itemsize: 16, floating: false, storageClass: "ComplexDoubleStorage" },
  complex64: { itemsize: 8, floating: false, storageClass: "ComplexFloatStorage", safetensors: "C64" },
  complex32: { itemsize: 4, floating: false },
  int64: { itemsize: 8, floating: false, storageClass: "LongStorage", safetensors: "I64" },
  int32: { itemsize: 4, floating: false, storageClass: "IntStorage", safetensors: "I32" },
  int16: { itemsize: 2, floating: false, storageClass: "ShortStorage", safetensors: "I16" },
  int8: { itemsize: 1, floating: false, storageClass: "CharStorage", safetensors: "I8" },
  uint64: { itemsize: 8, floating: false, safetensors: "U64" },
  uint32: { itemsize: 4, floating: false, safetensors: "U32" },
  uint16: { itemsize: 2, floating: false, safetensors: "U16" },
  uint8: { itemsize: 1, floating: false, storageClass: "ByteStorage", safetensors: "U8" },
  bool: { itemsize: 1, floating: false, storageClass: "BoolStorage", safetensors: "BOOL" },
};

/** True when `name` is a dtype webdcp knows. */
export function isDType(name: string): name is DType {
  return Object.hasOwn(DTYPE_INFO, name);
}

/** Parses a torch dtype name (also accepting torch's aliases such as `float`, `half`, `long`). */
export function parseDType(name: string, where: { path?: string; offset?: number } = {}): DType {
  const canonical = DTYPE_ALIASES[name] ?? name;
  if (isDType(canonical)) return canonical;
  throw new FormatError("E_DTYPE", `unknown dtype '${name}'`, where);
}

const DTYPE_ALIASES: Record<string, DType> = {
  float: "float32",
  double: "float64",
  half: "float16",
  long: "int64",
  int: "int32",
  short: "int16",
  cfloat: "complex64",
  cdouble: "complex128",
  chalf: "complex32",
};

/** Bytes per element. */
export function itemsize(dtype: DType): number {
  return DTYPE_INFO[dtype].itemsize;
}

const BY_SAFETENSORS = new Map(
  Object.entries(DTYPE_INFO).flatMap(([d, i]) => (i.safetensors ? [[i.safetensors, d as DType]] : [])),
);

/** Maps a safetensors dtype code (`F32`, `BF16`, ...) to a torch dtype. */
export function dtypeFromSafetensors(code: string, where: { path?: string; offset?: number } = {}): DType {
  const d = BY_SAFETENSORS.get(code);
  if (d === undefined) throw new FormatError("E_DTYPE", `safetensors dtype '${code}' has no torch equivalent`, where);
  return d;
}
