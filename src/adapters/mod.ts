export * from "./adapter.ts";
export * from "./registry.ts";
export * from "./llama3/mod.ts";
