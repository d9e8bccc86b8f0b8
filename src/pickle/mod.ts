export * from "./value.ts";
export { type DecodeOptions, decodePickle } from "./decode.ts";
export { type EncodeOptions, encodePickle } from "./encode.ts";
export { BUILTIN_GLOBALS, type GlobalHandler, type GlobalResolver } from "./globals.ts";
export { pyRepr } from "./repr.ts";
export { pyEqual } from "./equal.ts";
