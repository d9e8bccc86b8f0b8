import type { DType } from "./dtype.ts";

/**
 * The float dtypes data is converted from (any of them) and to (all but float64): the one list the engine's
 * kernels, convert's `dtype` option and the CLI's `--dtype` all read.
 */
export const CONVERT_SOURCES = ["float64", "float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"] as const;
/** The dtypes a conversion can produce (see `CONVERT_SOURCES`). */
export const CONVERT_TARGETS = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"] as const;
/** A dtype conversions read. */
export type ConvertSource = typeof CONVERT_SOURCES[number];
/** A dtype conversions write. */
export type ConvertTarget = typeof CONVERT_TARGETS[number];

/** True when `dtype` is one conversions can produce. */
export function isConvertTarget(dtype: string): dtype is ConvertTarget {
  return (CONVERT_TARGETS as readonly string[]).includes(dtype);
}

/** True when `from` elements can be turned into `to` elements (same dtype is always a plain copy). */
export function canConvert(from: DType, to: DType): boolean {
  return from === to || ((CONVERT_SOURCES as readonly string[]).includes(from) && isConvertTarget(to));
}
