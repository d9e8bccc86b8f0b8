import { StorageError } from "../../errors/mod.ts";

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

/**
 * Streams `response`'s body into `into`, which must end up exactly full: fewer bytes (the body ended or
 * the connection broke) is E_TRUNCATED at the first missing byte, more is E_IO. Never buffers beyond
 * `into`, so a lying server cannot make us allocate.
 */
export async function readBodyInto(response: Response, into: Uint8Array, target: RequestTarget): Promise<void> {
  const body = response.body;
  if (body === null) {
    if (into.byteLength === 0) return;
    throw truncated(target, 0, into.byteLength);
  }
  // A BYOB reader fills one reused scratch buffer instead of handing over a fresh buffer per chunk.
  const byob = byobReader(body);
  let scratch = byob ? new Uint8Array(Math.max(1, Math.min(BYOB_SCRATCH_BYTES, into.byteLength))) : undefined;
  const reader = byob ?? body.getReader();
  let filled = 0;
  let ended = false;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        if (byob) {
          // One byte of room once full, so that a longer body shows as more data rather than waiting.
          const room = Math.max(1, Math.min(scratch!.byteLength, into.byteLength - filled));
          chunk = await byob.read(new Uint8Array(scratch!.buffer, 0, room));
          if (chunk.value) scratch = new Uint8Array(chunk.value.buffer as ArrayBuffer);
        } else {
          chunk = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
        }
      } catch (cause) {
        throw truncated(target, filled, into.byteLength, cause);
      }
      if (chunk.done) {
        ended = true;
        break;
      }
      const bytes = chunk.value;
      if (filled + bytes.byteLength > into.byteLength) {
        throw new StorageError("E_IO", `server sent more than the ${into.byteLength} bytes it announced`, {
          path: target.url,
          offset: target.offset + into.byteLength,
        });
      }
      into.set(bytes, filled);
      filled += bytes.byteLength;
    }
  } finally {
    // Stops the download of whatever a misbehaving server still had to send.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (filled < into.byteLength) throw truncated(target, filled, into.byteLength);
}

const BYOB_SCRATCH_BYTES = 256 << 10;

/** A BYOB reader of a byte stream body, or undefined where the runtime's bodies are not byte streams. */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return (body as ReadableStream<Uint8Array<ArrayBuffer>>).getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/** Drops a body we will not read, so the connection is released. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

function truncated(target: RequestTarget, filled: number, expected: number, cause?: unknown): StorageError {
  return new StorageError("E_TRUNCATED", `response body ended after ${filled} of ${expected} bytes`, {
    path: target.url,
    offset: target.offset + filled,
    cause,
  });
}
