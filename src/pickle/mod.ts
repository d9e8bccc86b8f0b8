export * from "./value.ts";
export { decodePickle, decodePickleFrom, type DecodeOptions } from "./decode.ts";
export { encodePickle, type EncodeOptions } from "./encode.ts";
export { BUILTIN_GLOBALS, type GlobalHandler, type GlobalResolver } from "./globals.ts";
export { pyRepr } from "./repr.ts";
export { pyEqual } from "./equal.ts";
export { checkValueGraph, valueChildren, type ValueGraphFacts } from "./graph.ts";
export { dictAttributes, setDictAttributes } from "./dict_attributes.ts";
