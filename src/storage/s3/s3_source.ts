import { StorageError, UsageError, WebdcpError } from "../../errors/mod.ts";
import { checkReadRange, readToNewBuffer } from "../byte_source.ts";
import { discardBody, parseContentRange, readBodyInto } from "../http/mod.ts";
import type { ByteSource } from "../storage.ts";
import type { S3Client } from "./s3_client.ts";
import { S3ReadStream } from "./s3_read_stream.ts";

/** Reads at least this long go through a stream (smaller ones, headers and probes, are one GET each). */
const STREAM_MIN_READ = 1 << 20;
/**
 * A read this far past the end of the reads queued on a stream still joins it: the bytes between are kept for
 * the read that comes for them (a pipeline's bands arrive a little out of order; zip record headers).
 */
const STREAM_MAX_SKIP = 8 << 20;
/**
 * Streams open per object at once; a new one past this drops the least recently used. Several writers may read
 * one object at once (a reshard whose target ranks split a source rank's chunks), each at a few places: with 4,
 * their streams dropped one another's and a 3-rank reshard of 4 rank files sent 1.6x the window GETs.
 */
const MAX_STREAMS = 8;

/**
 * One object opened for ranged reads, every GET pinned to the ETag seen at `open` (`If-Match`), so an object
 * replaced meanwhile fails with E_IO instead of mixing two versions. Reads that follow one another share one
 * GET of a window (`readWindow`, 128 MiB) from the first of them, read as they come (`S3ReadStream`): a read
 * joins a stream when it starts where the reads queued there end, a little before (kept bytes), up to
 * STREAM_MAX_SKIP after (the bytes between are kept for the read that comes for them: a pipeline's bands arrive
 * a little out of order), or inside such a gap. A few streams stay open for reads that interleave, and a new
 * one stops where another begins, so no byte is asked for twice. Only a read of 1 MiB or more opens a stream:
 * a small one that joins none is a `Range` GET. A connection that drops in the middle of a body is resumed at
 * the first byte not yet received, within the client's retry budget. Memory: per stream two 512 KiB buffers
 * and its gaps (two at most, of up to STREAM_MAX_SKIP each).
 */
export class S3Source implements ByteSource {
  readonly path: string;
  readonly size: number;
  readonly #client: S3Client;
  readonly #key: string;
  readonly #etag: string | undefined;
  readonly #streams: S3ReadStream[] = [];
  #uses = 0;
  #closed = false;

  constructor(client: S3Client, key: string, path: string, size: number, etag: string | undefined) {
    this.#client = client;
    this.#key = key;
    this.path = path;
    this.size = size;
    this.#etag = etag;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return readToNewBuffer(this, offset, length);
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkReadRange(this.path, this.size, offset, into.byteLength);
    let filled = 0;
    while (filled < into.byteLength) {
      const at = offset + filled;
      const rest = into.subarray(filled);
      const joined = this.#streams.find((s) => s.reaches(at, STREAM_MAX_SKIP));
      // A small read (a header, a directory) joins a stream it falls in but never opens one.
      if (joined === undefined && rest.byteLength < STREAM_MIN_READ) return await this.#get(at, rest);
      const stream = joined ?? this.#openStream(at, rest.byteLength);
      // The part of the read this stream holds (its window, or a gap); the rest goes on with the next.
      const part = rest.subarray(0, stream.queue(at, rest.byteLength));
      stream.used = ++this.#uses;
      const read = stream.tail.then(() => stream.fill(at, part));
      stream.tail = read;
      const n = await read;
      if (stream.finished) this.#drop(stream);
      filled += n;
      // The stream failed (or was dropped): the rest with a GET of its own, resumed and retried as any.
      if (n < part.byteLength) return await this.#get(offset + filled, into.subarray(filled));
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const s of [...this.#streams]) this.#drop(s);
    return Promise.resolve();
  }

  /** A new stream of a window from `offset`, dropping the stalest one past MAX_STREAMS. */
  #openStream(offset: number, length: number): S3ReadStream {
    for (const s of this.#streams.filter((s) => s.dead)) this.#drop(s);
    if (this.#streams.length >= MAX_STREAMS) {
      this.#drop(this.#streams.reduce((a, b) => (a.used <= b.used ? a : b)));
    }
    let end = Math.min(this.size, offset + Math.max(length, this.#client.config.readWindow));
    // A window stops where another stream's begins: those bytes are on their way already.
    for (const s of this.#streams) if (s.start > offset && s.start < end) end = s.start;
    const stream = new S3ReadStream(this.#openBody(offset, end), offset, end, this.#client.config.stallTimeoutMs);
    this.#streams.push(stream);
    return stream;
  }

  #drop(stream: S3ReadStream): void {
    stream.cancel();
    const i = this.#streams.indexOf(stream);
    if (i >= 0) this.#streams.splice(i, 1);
  }

  /** The body of a GET of bytes `first` to `end - 1` (refused answers reject: the reads then GET alone). */
  async #openBody(first: number, end: number): Promise<ReadableStream<Uint8Array>> {
    const last = end - 1;
    const headers: Record<string, string> = { range: `bytes=${first}-${last}` };
    if (this.#etag !== undefined) headers["if-match"] = this.#etag;
    const response = await this.#client.send({
      method: "GET",
      key: this.#key,
      headers,
      path: this.path,
      offset: first,
      what: `GET bytes ${first}-${last}`,
      accept: [206, 200],
    });
    const range = parseContentRange(response.headers.get("content-range"));
    const whole = response.status === 200 && first === 0 && end === this.size;
    if (response.body === null || (!whole && (range?.first !== first || range.last !== last))) {
      await discardBody(response);
      throw new StorageError("E_IO", "unexpected answer to a stream GET", { path: this.path, offset: first });
    }
    return response.body;
  }

  /** One ranged GET into `into`, resuming where a dropped connection stopped. */
  async #get(offset: number, into: Uint8Array): Promise<void> {
    let filled = 0;
    for (let drops = 1; filled < into.byteLength; drops++) {
      const first = offset + filled;
      const last = offset + into.byteLength - 1;
      const headers: Record<string, string> = { range: `bytes=${first}-${last}` };
      if (this.#etag !== undefined) headers["if-match"] = this.#etag;
      const req = {
        method: "GET" as const,
        key: this.#key,
        headers,
        path: this.path,
        offset: first,
        what: `GET bytes ${first}-${last}`,
        accept: [200, 206, 412, 416],
      };
      const response = await this.#client.send(req);
      if (response.status === 412 || response.status === 416) {
        await discardBody(response);
        throw this.#client.error(req, response.status, "", "the object changed since it was opened");
      }
      const range = parseContentRange(response.headers.get("content-range"));
      const whole = response.status === 200 && first === 0 && last === this.size - 1;
      if (!whole && (response.status !== 206 || range?.first !== first || range.last !== last)) {
        await discardBody(response);
        throw this.#client.error(
          req,
          response.status,
          "",
          `asked for bytes ${first}-${last}, got '${response.headers.get("content-range")}'`,
        );
      }
      const target = { url: this.#client.s3Url(this.#key), offset: first };
      try {
        await readBodyInto(response, into.subarray(filled), target, { stallMs: this.#client.config.stallTimeoutMs });
        filled = into.byteLength;
      } catch (e) {
        // A dropped or stalled connection: keep what arrived and ask for the rest.
        if (!(e instanceof WebdcpError) || e.code !== "E_TRUNCATED" || e.offset === undefined) throw e;
        filled = e.offset - offset;
        if (drops >= this.#client.config.retry.attempts) {
          throw new StorageError("E_TRUNCATED", `${e.message}; gave up after ${drops} broken or silent connections`, {
            path: this.path,
            offset: e.offset,
            cause: e,
          });
        }
        await this.#client.backoff(drops);
      }
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new UsageError("E_USAGE", "read after close", { path: this.path });
  }
}
