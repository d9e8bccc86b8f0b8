/**
 * Element types as torch names them, with their facts (`DTYPE_INFO`), and the one list of dtypes data is
 * converted from and to (`CONVERT_SOURCES`, `CONVERT_TARGETS`) that the engine, convert and the CLI read.
 *
 * @example
 * ```ts
 * import { canConvert, itemsize, parseDType } from "./mod.ts";
 *
 * const bf16 = parseDType("bfloat16");
 * if (itemsize(bf16) !== 2 || !canConvert("float32", bf16) || canConvert("float32", "int32")) {
 *   throw new Error("unexpected dtype facts");
 * }
 * ```
 * @module
 */
export * from "./dtype.ts";
export * from "./convertible.ts";
