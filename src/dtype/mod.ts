export * from "./dtype.ts";
export * from "./convertible.ts";
