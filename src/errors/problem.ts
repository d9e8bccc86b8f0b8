import type { ErrorCode } from "./webdcp_error.ts";
import { WebdcpError } from "./webdcp_error.ts";

/**
 * One thing wrong, as a checker that finds them all reports it (`verify`); a reader that stops at the
 * first throws it as the `WebdcpError` of the same code instead.
 */
export interface Problem {
  /** The code the same problem throws with. */
  code: ErrorCode;
  /** What is wrong, for people. */
  message: string;
  /** The file it concerns. */
  path?: string;
  /** Byte offset in `path`, where known. */
  offset?: number;
  /** The tensor or value concerned, when there is one. */
  entry?: string;
}

/** A thrown `WebdcpError` as a problem; anything else is rethrown (it is a bug, not a finding). */
export function problemOf(e: unknown, entry?: string): Problem {
  if (e instanceof WebdcpError) return { code: e.code, message: e.detail, path: e.path, offset: e.offset, entry };
  throw e;
}
