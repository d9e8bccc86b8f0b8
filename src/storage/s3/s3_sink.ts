import { UsageError } from "../../errors/mod.ts";
import type { ByteSink } from "../storage.ts";
import type { S3Client } from "./s3_client.ts";
import { elementText, escapeXml } from "./s3_xml.ts";

/** Parts per size step: after every this many parts the part size doubles (S3 allows 10 000 parts). */
const PARTS_PER_STEP = 1000;
const MAX_PARTS = 10_000;

/**
 * A file written to S3: bytes gather in a part-sized buffer; a file that stays within one part is one PUT at
 * `close()`, a larger one becomes a multipart upload whose parts go up a few at a time while the writer goes
 * on (memory: the buffer plus the parts in flight). S3 shows the object only when `close()` completes the
 * upload, so nothing half-written is ever visible; `abort()` (or a failing `close()`) aborts the upload,
 * which drops its stored parts.
 */
export class S3Sink implements ByteSink {
  readonly path: string;
  readonly #client: S3Client;
  readonly #key: string;
  #buffer: Uint8Array<ArrayBuffer>;
  #fill = 0;
  #position = 0;
  #state: "open" | "closing" | "done" = "open";
  #uploadId: Promise<string> | undefined;
  readonly #etags: string[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Buffers of parts whose upload finished, taken again for the next parts: fresh memory is what costs. */
  #spare: Uint8Array<ArrayBuffer>[] = [];
  /** Cancels the part uploads still running when the sink is aborted. */
  readonly #cancel = new AbortController();
  #failure: unknown;
  readonly #onSettled: (sink: S3Sink) => void;

  constructor(client: S3Client, key: string, path: string, onSettled: (sink: S3Sink) => void = () => {}) {
    this.#client = client;
    this.#key = key;
    this.path = path;
    this.#buffer = new Uint8Array(0);
    this.#onSettled = onSettled;
  }

  get position(): number {
    return this.#position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#checkOpen();
    this.#throwFailure();
    let at = 0;
    while (at < bytes.byteLength) {
      const partSize = this.#partSize(this.#etags.length + 1);
      const n = Math.min(bytes.byteLength - at, partSize - this.#fill);
      // The first part's buffer grows by doubling, so a small file never holds a whole part's memory; once a
      // part went up the file is large, and each next part takes a whole buffer, one that went up if any did.
      const need = this.#fill + n;
      if (this.#buffer.byteLength < need) {
        this.#buffer = this.#etags.length > 0 && this.#fill === 0
          ? this.#takeSpare(partSize)
          : grow(this.#buffer, this.#fill, Math.min(partSize, Math.max(need, 2 * this.#buffer.byteLength)));
      }
      this.#buffer.set(bytes.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      this.#position += n;
      if (this.#fill === partSize) await this.#sendPart();
    }
  }

  async close(): Promise<void> {
    this.#checkOpen();
    this.#state = "closing";
    try {
      this.#throwFailure();
      if (this.#uploadId === undefined) {
        await this.#client.send({
          method: "PUT",
          key: this.#key,
          body: this.#buffer.subarray(0, this.#fill),
          path: this.path,
          what: "PUT",
          accept: [200],
        });
      } else {
        if (this.#fill > 0) await this.#sendPart();
        await Promise.all(this.#inFlight);
        this.#throwFailure();
        await this.#complete(await this.#uploadId);
      }
      this.#state = "done";
      this.#buffer = new Uint8Array(0);
      this.#spare = [];
      this.#onSettled(this);
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.#state === "done") return;
    this.#state = "done";
    this.#buffer = new Uint8Array(0);
    this.#spare = [];
    this.#cancel.abort();
    await Promise.allSettled(this.#inFlight);
    this.#onSettled(this);
    const uploadId = await this.#uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    // After the running part uploads were cancelled, so none lands after the abort.
    await this.#client.send({
      method: "DELETE",
      key: this.#key,
      query: { uploadId },
      path: this.path,
      what: "AbortMultipartUpload",
      accept: [204, 200, 404],
    });
  }

  /** Hands the full buffer to an upload and, when enough are in flight, waits for one to finish. */
  async #sendPart(): Promise<void> {
    const partNumber = this.#etags.length + 1;
    if (partNumber > MAX_PARTS) {
      throw new UsageError("E_USAGE", `file needs more than ${MAX_PARTS} parts: raise partSize`, { path: this.path });
    }
    this.#etags.push("");
    const body = this.#buffer.subarray(0, this.#fill);
    this.#buffer = new Uint8Array(0);
    this.#fill = 0;
    this.#uploadId ??= this.#initiate();
    const upload = (async () => {
      const uploadId = await this.#uploadId!;
      const response = await this.#client.send({
        method: "PUT",
        key: this.#key,
        query: { partNumber: String(partNumber), uploadId },
        body,
        path: this.path,
        offset: this.#position - body.byteLength,
        what: `UploadPart ${partNumber}`,
        accept: [200],
        signal: this.#cancel.signal,
      });
      await response.body?.cancel().catch(() => {});
      const etag = response.headers.get("etag");
      if (etag === null) {
        throw this.#client.error(
          { key: this.#key, path: this.path },
          200,
          "",
          `UploadPart ${partNumber} answered no ETag`,
        );
      }
      this.#etags[partNumber - 1] = etag;
      if (body.byteLength === body.buffer.byteLength) this.#spare.push(body);
    })();
    const tracked = upload.then(
      () => void this.#inFlight.delete(tracked),
      (e) => {
        this.#inFlight.delete(tracked);
        this.#failure ??= e;
      },
    );
    this.#inFlight.add(tracked);
    while (this.#inFlight.size >= this.#client.config.partsInFlight) await Promise.race(this.#inFlight);
    this.#throwFailure();
  }

  async #initiate(): Promise<string> {
    const { xml } = await this.#client.sendXml({
      method: "POST",
      key: this.#key,
      query: { uploads: "" },
      path: this.path,
      what: "CreateMultipartUpload",
      accept: [200],
      signal: this.#cancel.signal,
    });
    const id = elementText(xml, "UploadId");
    if (!id) {
      throw this.#client.error(
        { key: this.#key, path: this.path },
        200,
        "",
        "CreateMultipartUpload answered no UploadId",
      );
    }
    return id;
  }

  async #complete(uploadId: string): Promise<void> {
    const parts = this.#etags.map((etag, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`
    );
    const body = new TextEncoder().encode(`<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`);
    await this.#client.sendXml({
      method: "POST",
      key: this.#key,
      query: { uploadId },
      body,
      headers: { "content-type": "application/xml" },
      path: this.path,
      what: "CompleteMultipartUpload",
      accept: [200],
    });
  }

  /** A buffer of `size` bytes: a spare one when there is one of that size (sizes double every step). */
  #takeSpare(size: number): Uint8Array<ArrayBuffer> {
    this.#spare = this.#spare.filter((b) => b.byteLength === size);
    return this.#spare.pop() ?? new Uint8Array(size);
  }

  /** Part `n`'s size: the configured one, doubled after every PARTS_PER_STEP parts. */
  #partSize(n: number): number {
    return this.#client.config.partSize * 2 ** Math.floor((n - 1) / PARTS_PER_STEP);
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #checkOpen(): void {
    if (this.#state !== "open") throw new UsageError("E_USAGE", "sink already closed or aborted", { path: this.path });
  }
}

/** `buffer` enlarged to `size` bytes, keeping its first `fill`. */
function grow(buffer: Uint8Array<ArrayBuffer>, fill: number, size: number): Uint8Array<ArrayBuffer> {
  if (buffer.byteLength >= size) return buffer;
  const out = new Uint8Array(size);
  out.set(buffer.subarray(0, fill));
  return out;
}
