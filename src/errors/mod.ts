export * from "./webdcp_error.ts";
export * from "./invariant.ts";
export * from "./problem.ts";
