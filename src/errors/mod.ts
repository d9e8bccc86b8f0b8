export * from "./webdcp_error.ts";
export { escapeName } from "./escape_name.ts";
export * from "./invariant.ts";
export * from "./problem.ts";
