import { StorageError } from "../../errors/mod.ts";
import { pumpChunks } from "../pump_chunks.ts";

/**
 * The HTTP half of `HttpStorage`: one request, its status mapped to a `StorageError`, and a body streamed
 * into a buffer of known size. Every error names the URL (as `path`), the status and the file offset.
 */

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Where a request went and which file bytes it was for, for error messages. */
export interface RequestTarget {
  url: string;
  /** File offset of the first byte asked for (0 for HEAD). */
  offset: number;
}

/** Sends one request; a network failure (no response at all) becomes E_IO. */
export async function send(fetchFn: FetchLike, target: RequestTarget, init: RequestInit): Promise<Response> {
  try {
    return await fetchFn(target.url, init);
  } catch (cause) {
    throw new StorageError("E_IO", `${init.method ?? "GET"} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      path: target.url,
      offset: target.offset,
      cause,
    });
  }
}

/** A response status that is neither what we asked for nor a plain absence. */
export function statusError(response: Response, target: RequestTarget, what: string): StorageError {
  const code = response.status === 404 || response.status === 410 ? "E_NOT_FOUND" : "E_IO";
  return new StorageError(code, `${what}: HTTP ${response.status} ${response.statusText}`.trimEnd(), {
    path: target.url,
    offset: target.offset,
  });
}

/** `Content-Range: bytes <first>-<last>/<total>` (total may be a star), or a star range on a 416. */
export interface ContentRange {
  first?: number;
  last?: number;
  total?: number;
}

export function parseContentRange(header: string | null): ContentRange | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return undefined;
  const num = (s: string | undefined) => (s === undefined || s === "*" ? undefined : Number(s));
  const out = { first: num(m[1]), last: num(m[2]), total: num(m[3]) };
  for (const v of Object.values(out)) if (v !== undefined && !Number.isSafeInteger(v)) return undefined;
  if (out.first !== undefined && out.last !== undefined && out.last < out.first) return undefined;
  return out;
}

/** A non-negative integer header value (Content-Length), or undefined when absent or malformed. */
export function parseLength(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** How a body is read: `stallMs`, the longest a read may give nothing before the body counts as cut there. */
export interface BodyReadOptions {
  stallMs?: number;
}

/**
 * Streams `response`'s body into `into`, which must end up exactly full: fewer bytes (the body ended, the
 * connection broke, or with `stallMs` it gave nothing for that long) is E_TRUNCATED at the first missing
 * byte, more is E_IO. Never buffers beyond `into`, so a lying server cannot make us allocate.
 */
export function readBodyInto(
  response: Response,
  into: Uint8Array,
  target: RequestTarget,
  options: BodyReadOptions = {},
): Promise<void> {
  return readBodyChunks(response, into.byteLength, target, (chunk, at) => into.set(chunk, at), options);
}

/**
 * Streams `response`'s body, which must be exactly `length` bytes (else E_TRUNCATED or E_IO, as
 * `readBodyInto`), to `sink` chunk by chunk as it arrives, with each chunk's position in the body. A chunk
 * is valid only until `sink` returns (or its promise settles): a BYOB reader fills one reused scratch buffer
 * instead of handing over a fresh buffer per chunk.
 */
export async function readBodyChunks(
  response: Response,
  length: number,
  target: RequestTarget,
  sink: (chunk: Uint8Array, at: number) => void | Promise<void>,
  options: BodyReadOptions = {},
): Promise<void> {
  const body = response.body;
  if (body === null) {
    if (length === 0) return;
    throw truncated(target, 0, length);
  }
  const got = await pumpChunks(body, length, sink, (cause, filled) => truncated(target, filled, length, cause), {
    untilEnd: true,
    stallMs: options.stallMs,
  });
  if (got.stalled) throw truncated(target, got.filled, length, undefined, `gave nothing for ${options.stallMs} ms`);
  if (!got.ended && got.filled === length) {
    throw new StorageError("E_IO", `server sent more than the ${length} bytes it announced`, {
      path: target.url,
      offset: target.offset + length,
    });
  }
  if (got.filled < length) throw truncated(target, got.filled, length);
}

/** Drops a body we will not read, so the connection is released. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

/** E_TRUNCATED at the first byte missing from a body that `how` (ended, or gave nothing for a while). */
function truncated(target: RequestTarget, filled: number, expected: number, cause?: unknown, how = "ended") {
  return new StorageError("E_TRUNCATED", `response body ${how} after ${filled} of ${expected} bytes`, {
    path: target.url,
    offset: target.offset + filled,
    cause,
  });
}
