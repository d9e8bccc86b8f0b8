export * from "./tensor.ts";
export * from "./box.ts";
