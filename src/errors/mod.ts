export * from "./webdcp_error.ts";
