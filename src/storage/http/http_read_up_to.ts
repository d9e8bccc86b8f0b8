import { StorageError } from "../../errors/mod.ts";
import type { ChunkSink } from "../storage.ts";
import {
  discardBody,
  type FetchLike,
  parseContentRange,
  parseLength,
  readBodyChunks,
  readBodyInto,
  type RequestTarget,
  send,
  statusError,
} from "./http_range.ts";

/** What `readUpTo` needs of its storage. */
export interface UpToIo {
  fetch: FetchLike;
  headers: HeadersInit | undefined;
  maxUnranged: number;
  /** Told the headers of every answer (what a storage learns about the file beyond its bytes). */
  answered?: (url: string, headers: Headers) => void;
}

/**
 * The message for a 206 whose `Content-Range` the page cannot see: browsers hide every response header a
 * cross-origin server does not list in `Access-Control-Expose-Headers`.
 */
export const HIDDEN_CONTENT_RANGE = "the server answered 206 Partial Content but its Content-Range header is not " +
  "readable: a cross-origin server must send 'Access-Control-Expose-Headers: Content-Range'";

/**
 * One ranged GET of up to `into.byteLength` bytes at `offset` (see `RangeReader.readUpTo`): the file's size
 * comes from the answer's `Content-Range`, so no HEAD is needed. A server that ignores Range is used for
 * files up to `maxUnranged` bytes (the whole body is read and the range copied out), and refused by name
 * above that.
 */
export function httpReadUpTo(
  io: UpToIo,
  url: string,
  offset: number,
  into: Uint8Array,
): Promise<{ filled: number; size: number }> {
  return httpStreamUpTo(io, url, offset, into.byteLength, (chunk, at) => into.set(chunk, at - offset));
}

/**
 * `httpReadUpTo` with the answer's bytes handed to `sink` as they arrive (see `RangeReader.streamUpTo`),
 * each with its file offset, instead of gathered in one buffer.
 */
export async function httpStreamUpTo(
  io: UpToIo,
  url: string,
  offset: number,
  length: number,
  sink: ChunkSink,
): Promise<{ filled: number; size: number }> {
  const target: RequestTarget = { url, offset };
  const last = offset + Math.max(1, length) - 1;
  const headers = new Headers(io.headers);
  headers.set("range", `bytes=${offset}-${last}`);
  const response = await send(io.fetch, target, { method: "GET", headers }).catch((e: StorageError) => {
    throw crossOriginHint(e, url);
  });
  io.answered?.(url, response.headers);
  if (response.status === 206) {
    const raw = response.headers.get("content-range");
    if (raw === null) {
      await discardBody(response);
      throw new StorageError("E_UNSUPPORTED", HIDDEN_CONTENT_RANGE, { path: url, offset });
    }
    const range = parseContentRange(raw);
    if (range?.first !== offset || range.last! > last || range.total === undefined || range.last! >= range.total) {
      await discardBody(response);
      throw new StorageError("E_IO", `asked for bytes ${offset}-${last}, server answered Content-Range '${raw}'`, {
        path: url,
        offset,
      });
    }
    const filled = Math.min(length, range.last! - offset + 1);
    await readBodyChunks(response, filled, target, (chunk, at) => sink(chunk, offset + at));
    return { filled, size: range.total };
  }
  if (response.status === 416) {
    await discardBody(response);
    const total = parseContentRange(response.headers.get("content-range"))?.total;
    if (total !== undefined && total <= offset) return { filled: 0, size: total };
    throw new StorageError("E_IO", `server refused bytes ${offset}-${last} (HTTP 416) without saying the file's size`, {
      path: url,
      offset,
    });
  }
  if (response.status === 200) {
    const encoded = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase() !== "identity";
    const size = encoded ? undefined : parseLength(response.headers.get("content-length"));
    if (size === undefined || size > io.maxUnranged) {
      await discardBody(response);
      throw new StorageError(
        "E_UNSUPPORTED",
        `server ignores Range requests (HTTP 200 with the whole ${
          size ?? "?"
        }-byte file to 'Range: bytes=${offset}-${last}'); ` +
          `only files up to ${io.maxUnranged} bytes are read that way`,
        { path: url, offset },
      );
    }
    const whole = new Uint8Array(size);
    await readBodyInto(response, whole, { url, offset: 0 });
    const piece = whole.subarray(Math.min(offset, size), Math.min(size, offset + length));
    if (piece.byteLength > 0) await sink(piece, offset);
    return { filled: piece.byteLength, size };
  }
  await discardBody(response);
  throw statusError(response, target, `GET bytes ${offset}-${last}`);
}

/**
 * A browser reports a response that CORS withholds as a bare network failure ("Failed to fetch"); for a
 * cross-origin URL, say what is most likely missing.
 */
function crossOriginHint(error: StorageError, url: string): StorageError {
  const page = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (error.code !== "E_IO" || page === undefined || !(error.cause instanceof TypeError)) return error;
  if (new URL(url).origin === page) return error;
  return new StorageError(
    "E_IO",
    `GET failed (${(error.cause as Error).message}): a network failure, or a cross-origin server that does not send ` +
      `'Access-Control-Allow-Origin' (it must also expose Content-Range)`,
    { path: url, offset: error.offset, cause: error.cause },
  );
}
