export * from "./dtype.ts";
