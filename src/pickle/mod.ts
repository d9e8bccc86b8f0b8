/**
 * The pickle codec: `decodePickle` (protocols 2 to 5; globals only from an allow-list, no recursion on
 * untrusted depth) and `encodePickle` (protocols 2 and 4, byte-identical to CPython's), over the Python value
 * model of `PyValue`.
 *
 * @example
 * ```ts
 * import { decodePickle, encodePickle, PyTuple, pyRepr } from "./mod.ts";
 *
 * const bytes = encodePickle(new Map([["betas", new PyTuple([0.9, 0.95])]]), { protocol: 2 });
 * if (pyRepr(decodePickle(bytes)) !== "{'betas': (0.9, 0.95)}") throw new Error(pyRepr(decodePickle(bytes)));
 * ```
 * @module
 */
export * from "./value.ts";
export { type DecodeOptions, decodePickle, decodePickleFrom } from "./decode.ts";
export { type EncodeOptions, encodePickle } from "./encode.ts";
export { BUILTIN_GLOBALS, type GlobalHandler, type GlobalResolver } from "./globals.ts";
export { pyRepr } from "./repr.ts";
export { pyEqual } from "./equal.ts";
export { checkValueGraph, valueChildren, type ValueGraphFacts } from "./graph.ts";
export { dictAttributes, setDictAttributes } from "./dict_attributes.ts";
