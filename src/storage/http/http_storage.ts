import { StorageError, UsageError } from "../../errors/mod.ts";
import { checkReadRange, readToNewBuffer } from "../byte_source.ts";
import {
  discardBody,
  type FetchLike,
  parseContentRange,
  parseLength,
  readBodyInto,
  type RequestTarget,
  send,
  statusError,
} from "./http_range.ts";
import { announcedSha256 } from "./http_digest.ts";
import { HIDDEN_CONTENT_RANGE, httpReadUpTo, httpStreamUpTo, type UpToIo } from "./http_read_up_to.ts";
import { normalizePath } from "../path.ts";
import type { RangeReader } from "../range_plan.ts";
import type { ByteSink, ByteSource, ChunkSink, DirEntry, FileInfo, Storage } from "../storage.ts";
import { readRange, readWhole } from "../whole_file.ts";

/** Options of `HttpStorage`. */
export interface HttpStorageOptions {
  /** The fetch to use (default: the global one); tests and proxies inject their own. */
  fetch?: typeof fetch;
  /** Sent with every request, e.g. `{ authorization: "Bearer ..." }`. */
  headers?: HeadersInit;
  /**
   * A server that ignores `Range` and answers 200 with the whole file is still usable for files up to
   * this size (default 64 MiB): the body is kept and later reads are served from it. Larger files are
   * refused with E_UNSUPPORTED rather than downloaded whole.
   */
  maxUnrangedBytes?: number;
}

const DEFAULT_MAX_UNRANGED_BYTES = 64 << 20;

/**
 * A read-only `Storage` over HTTP(S): `stat` is a HEAD (or a one-byte range GET when HEAD gives no usable
 * length), `open` returns a source whose reads are `Range: bytes=a-b` GETs checked against the 206
 * `Content-Range`. Cross-origin servers must expose `Content-Range` (CORS) for browsers to see it.
 *
 * HTTP has no directory listing, so `list()` always answers undefined: checkpoints are opened through
 * the names their formats fix (`<dir>/.metadata` for DCP, `<dir>/model.safetensors.index.json` or a
 * named `.safetensors` file for HF), whose contents name every other file. Writes fail with E_UNSUPPORTED.
 */
export class HttpStorage implements Storage, RangeReader {
  /** The folder URL every path is resolved against; always ends with `/`. */
  readonly baseUrl: string;
  readonly description: string;
  /** Every read is a request (see `Storage.remote`). */
  readonly remote = true;
  readonly #fetch: FetchLike;
  readonly #headers: HeadersInit | undefined;
  readonly #maxUnranged: number;
  readonly #sha256 = new Map<string, string>();

  /** A read-only storage of the files below `baseUrl` (a folder URL). */
  constructor(baseUrl: string | URL, options: HttpStorageOptions = {}) {
    const base = parseBase(baseUrl);
    this.baseUrl = base;
    this.description = base;
    const given = options.fetch;
    // Called unbound: browsers reject window.fetch invoked with another object as `this`.
    this.#fetch = given ? (input, init) => given(input, init) : (input, init) => globalThis.fetch(input, init);
    this.#headers = options.headers;
    const max = options.maxUnrangedBytes ?? DEFAULT_MAX_UNRANGED_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new UsageError("E_USAGE", `maxUnrangedBytes must be a non-negative integer, got ${max}`);
    }
    this.#maxUnranged = max;
  }

  /** The URL a storage path maps to (each segment percent-encoded). */
  urlOf(path: string): string {
    const rel = normalizePath(path);
    return this.baseUrl + rel.split("/").map(encodeURIComponent).join("/");
  }

  /** The size of a file (a HEAD request); undefined when the server has none. */
  async stat(path: string): Promise<FileInfo | undefined> {
    const rel = normalizePath(path);
    if (rel === "") return undefined;
    return await this.#probeSize(this.urlOf(rel));
  }

  /** Opens a file for range reads. */
  async open(path: string): Promise<ByteSource> {
    const rel = normalizePath(path);
    const url = this.urlOf(rel);
    const info = rel === "" ? undefined : await this.#probeSize(url);
    if (info === undefined) throw new StorageError("E_NOT_FOUND", "no such file", { path: url });
    return new HttpSource(rel, url, info.size, {
      fetch: this.#fetch,
      headers: this.#headers,
      maxUnranged: this.#maxUnranged,
    });
  }

  /** One ranged GET without a size probe (see `RangeReader`): what planned loads read through. */
  readUpTo(path: string, offset: number, into: Uint8Array): Promise<{ filled: number; size: number }> {
    return httpReadUpTo(this.#upToIo(), this.urlOf(path), offset, into);
  }

  /** One ranged GET whose bytes go to `sink` as they arrive (see `RangeReader.streamUpTo`). */
  streamUpTo(
    path: string,
    offset: number,
    length: number,
    sink: ChunkSink,
  ): Promise<{ filled: number; size: number }> {
    return httpStreamUpTo(this.#upToIo(), this.urlOf(path), offset, length, sink);
  }

  /**
   * The SHA-256 (lowercase hex) of a file as the server announced it in a header of an answer to
   * `readUpTo` or `streamUpTo` so far (see `announcedSha256`), or undefined.
   */
  announcedSha256(path: string): string | undefined {
    return this.#sha256.get(this.urlOf(path));
  }

  #upToIo(): UpToIo {
    return {
      fetch: this.#fetch,
      headers: this.#headers,
      maxUnranged: this.#maxUnranged,
      answered: (url, headers) => {
        const sha256 = announcedSha256(headers);
        if (sha256 !== undefined) this.#sha256.set(url, sha256);
      },
    };
  }

  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return readRange(this, path, offset, length);
  }

  /** Reads a whole file. */
  readAll(path: string): Promise<Uint8Array> {
    return readWhole(this, path);
  }

  /** HTTP has no listing; see the class comment for how folders are opened. */
  async list(dir: string): Promise<DirEntry[] | undefined> {
    normalizePath(dir);
    return undefined;
  }

  async create(path: string): Promise<ByteSink> {
    throw this.#readOnly(path);
  }

  /** Refused: HTTP storage is read-only (E_USAGE). */
  async writeAll(path: string, _bytes: Uint8Array): Promise<void> {
    throw this.#readOnly(path);
  }

  /** Refused: HTTP storage is read-only (E_USAGE). */
  async rename(from: string, to: string): Promise<void> {
    normalizePath(to);
    throw this.#readOnly(from);
  }

  /** Refused: HTTP storage is read-only (E_USAGE). */
  async remove(path: string, _options?: { recursive?: boolean }): Promise<void> {
    throw this.#readOnly(path);
  }

  #readOnly(path: string): StorageError {
    return new StorageError("E_UNSUPPORTED", "HttpStorage is read-only", { path: this.urlOf(path) });
  }

  /** The file's size, or undefined when the server says it does not exist. */
  async #probeSize(url: string): Promise<FileInfo | undefined> {
    const target: RequestTarget = { url, offset: 0 };
    const head = await send(this.#fetch, target, { method: "HEAD", headers: this.#headers });
    await discardBody(head);
    if (head.status === 404 || head.status === 410) return undefined;
    // Static servers redirect a folder's URL to its `/` form (and then list it): not a file.
    if (head.redirected && new URL(head.url).pathname.endsWith("/")) return undefined;
    // A compressed response's Content-Length counts compressed bytes, not the file's.
    const length = head.ok && !isEncoded(head) ? parseLength(head.headers.get("content-length")) : undefined;
    if (length !== undefined) return { size: length };
    // Some servers refuse HEAD (presigned GET URLs) or omit the length: ask for one byte instead.
    const headers = new Headers(this.#headers);
    headers.set("range", "bytes=0-0");
    const probe = await send(this.#fetch, target, { method: "GET", headers });
    await discardBody(probe);
    if (probe.status === 404 || probe.status === 410) return undefined;
    if (probe.status === 206 || probe.status === 416) {
      const total = parseContentRange(probe.headers.get("content-range"))?.total;
      if (total !== undefined) return { size: total };
    } else if (probe.status === 200) {
      const whole = isEncoded(probe) ? undefined : parseLength(probe.headers.get("content-length"));
      if (whole !== undefined) return { size: whole };
    } else {
      throw statusError(probe, target, "size probe (GET bytes=0-0)");
    }
    throw new StorageError(
      "E_UNSUPPORTED",
      `server reports no file size (HTTP ${probe.status}, no usable Content-Range)`,
      {
        path: url,
        offset: 0,
      },
    );
  }
}

interface SourceIo {
  fetch: FetchLike;
  headers: HeadersInit | undefined;
  maxUnranged: number;
}

class HttpSource implements ByteSource {
  readonly path: string;
  readonly size: number;
  readonly #url: string;
  readonly #io: SourceIo;
  #closed = false;
  /** The whole file, once a server that ignores Range has sent it (small files only). */
  #whole: Promise<Uint8Array> | undefined;

  constructor(path: string, url: string, size: number, io: SourceIo) {
    this.path = path;
    this.#url = url;
    this.size = size;
    this.#io = io;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return readToNewBuffer(this, offset, length);
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkReadRange(this.path, this.size, offset, into.byteLength);
    if (into.byteLength === 0) return;
    if (this.#whole) return into.set((await this.#whole).subarray(offset, offset + into.byteLength));
    const last = offset + into.byteLength - 1;
    const target: RequestTarget = { url: this.#url, offset };
    const headers = new Headers(this.#io.headers);
    headers.set("range", `bytes=${offset}-${last}`);
    const response = await send(this.#io.fetch, target, { method: "GET", headers });
    if (response.status === 206) {
      const raw = response.headers.get("content-range");
      if (raw === null) {
        await discardBody(response);
        throw new StorageError("E_UNSUPPORTED", HIDDEN_CONTENT_RANGE, at(target));
      }
      const range = parseContentRange(raw);
      if (range?.first !== offset || range.last !== last) {
        await discardBody(response);
        throw new StorageError(
          "E_IO",
          `asked for bytes ${offset}-${last}, server answered Content-Range '${raw}'`,
          at(target),
        );
      }
      if (range.total !== undefined && range.total !== this.size) {
        await discardBody(response);
        throw new StorageError("E_IO", `file is now ${range.total} bytes, was ${this.size} when opened`, at(target));
      }
      return await readBodyInto(response, into, target);
    }
    if (response.status === 200) {
      const whole = await this.#keepWhole(response);
      return into.set(whole.subarray(offset, offset + into.byteLength));
    }
    await discardBody(response);
    if (response.status === 416) {
      throw new StorageError("E_TRUNCATED", `server cannot serve bytes ${offset}-${last}: the file shrank`, at(target));
    }
    throw statusError(response, target, `GET bytes ${offset}-${last}`);
  }

  /** A 200 answer to a range request carries the whole file: keep it if it is small, else refuse. */
  #keepWhole(response: Response): Promise<Uint8Array> {
    const target = { url: this.#url, offset: 0 };
    if (this.#whole) {
      void discardBody(response);
      return this.#whole;
    }
    if (this.size > this.#io.maxUnranged) {
      void discardBody(response);
      return Promise.reject(
        new StorageError(
          "E_UNSUPPORTED",
          `server ignores Range requests (HTTP 200 with the whole ${this.size}-byte file); only files up to ` +
            `${this.#io.maxUnranged} bytes are read that way`,
          at(target),
        ),
      );
    }
    const whole = new Uint8Array(this.size);
    this.#whole = readBodyInto(response, whole, target).then(() => whole);
    // A failed download must not poison later reads, which retry with a fresh request.
    this.#whole.catch(() => (this.#whole = undefined));
    return this.#whole;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#whole = undefined;
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new UsageError("E_USAGE", "read after close", { path: this.path });
  }
}

function at(target: RequestTarget): { path: string; offset: number } {
  return { path: target.url, offset: target.offset };
}

function isEncoded(response: Response): boolean {
  const enc = response.headers.get("content-encoding");
  return enc !== null && enc.trim().toLowerCase() !== "identity";
}

function parseBase(baseUrl: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(baseUrl), (globalThis as { location?: { href: string } }).location?.href);
  } catch (cause) {
    throw new UsageError("E_USAGE", `not a URL: '${String(baseUrl)}'`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError("E_USAGE", `HttpStorage needs an http(s) URL, got '${url.protocol}'`, { path: url.href });
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError("E_USAGE", "the base URL must be a folder without query or fragment (use headers for auth)", {
      path: url.href,
    });
  }
  return url.href.endsWith("/") ? url.href : `${url.href}/`;
}
