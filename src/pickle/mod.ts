export * from "./value.ts";
export { type DecodeOptions, decodePickle, decodePickleFrom } from "./decode.ts";
export { type EncodeOptions, encodePickle } from "./encode.ts";
export { BUILTIN_GLOBALS, type GlobalHandler, type GlobalResolver } from "./globals.ts";
export { pyRepr } from "./repr.ts";
export { pyEqual } from "./equal.ts";
export { checkValueGraph, valueChildren, type ValueGraphFacts } from "./graph.ts";
export { dictAttributes, setDictAttributes } from "./dict_attributes.ts";
