import { StorageError, UsageError, WebdcpError } from "../../errors/mod.ts";
import { checkReadRange, readToNewBuffer } from "../byte_source.ts";
import { discardBody, parseContentRange, readBodyInto } from "../http/mod.ts";
import type { ByteSource } from "../storage.ts";
import type { S3Client } from "./s3_client.ts";

/**
 * One object opened for ranged reads: each read is a `Range` GET pinned to the ETag seen at `open` (`If-Match`),
 * so an object replaced meanwhile fails with E_IO instead of mixing two versions. A connection that drops in
 * the middle of a body is resumed at the first byte not yet received, within the client's retry budget.
 */
export class S3Source implements ByteSource {
  readonly path: string;
  readonly size: number;
  readonly #client: S3Client;
  readonly #key: string;
  readonly #etag: string | undefined;
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
        await readBodyInto(response, into.subarray(filled), target);
        filled = into.byteLength;
      } catch (e) {
        // A dropped connection: keep what arrived and ask for the rest.
        if (!(e instanceof WebdcpError) || e.code !== "E_TRUNCATED" || e.offset === undefined) throw e;
        filled = e.offset - offset;
        if (drops >= this.#client.config.retry.attempts) {
          throw new StorageError("E_TRUNCATED", `${e.message}; gave up after ${drops} dropped connections`, {
            path: this.path,
            offset: e.offset,
            cause: e,
          });
        }
        await this.#client.backoff(drops);
      }
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new UsageError("E_USAGE", "read after close", { path: this.path });
  }
}
