/**
 * The one error family: `WebdcpError` and its classes, each with a stable code (`ERROR_CODES`) and the
 * file and byte offset concerned; `Problem`, the same facts as a checker that reports them all lists them;
 * `invariant`, for states webdcp's own logic rules out (a bug, never bad input).
 *
 * @example
 * ```ts
 * import { FormatError, WebdcpError } from "./mod.ts";
 *
 * const e = new FormatError("E_TRUNCATED", "header ends early", { path: "model.safetensors", offset: 8 });
 * if (!(e instanceof WebdcpError) || e.code !== "E_TRUNCATED") throw new Error("not a coded error");
 * if (e.message !== "E_TRUNCATED: header ends early (model.safetensors @ offset 8)") throw new Error(e.message);
 * ```
 * @module
 */
export * from "./webdcp_error.ts";
export { escapeName } from "./escape_name.ts";
export * from "./invariant.ts";
export * from "./problem.ts";
