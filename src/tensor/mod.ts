export * from "./tensor.ts";
export * from "./box.ts";
export * from "./entry.ts";
