import { StorageError, UsageError } from "../../errors/mod.ts";
import { runLimited } from "../../tasks/mod.ts";
import { dirname, normalizePath } from "../path.ts";
import type { ByteSink, ByteSource, DirEntry, FileInfo, Storage } from "../storage.ts";
import { readRange, readWhole, writeWhole } from "../whole_file.ts";
import { S3Client } from "./s3_client.ts";
import { parseS3Url, resolveS3Config } from "./s3_config.ts";
import type { S3StorageOptions } from "./s3_config.ts";
import { S3Sink } from "./s3_sink.ts";
import { S3Source } from "./s3_source.ts";
import { elementBlocks, elementText, elementTexts, integerField } from "./s3_xml.ts";

/** Objects deleted or copied at once by folder operations. */
const BATCH_CONCURRENCY = 8;
/** CopyObject's limit; larger objects would need a multipart copy. */
const MAX_COPY_BYTES = 5 * 2 ** 30;
/**
 * How long a listing's sizes and ETags answer `stat` and `open` for the files it named, instead of a HEAD each.
 * A reader lists a checkpoint's folder, then stats and opens every file in it: on S3 each HEAD is a round trip
 * of tens of milliseconds, and they come one after another. An answer from the listing is as good as a HEAD
 * sent at the listing's time: reads stay pinned to the ETag (`If-Match`), so a file replaced since fails its
 * reads with E_IO instead of mixing two versions. Any write through this storage forgets every listing.
 */
const LISTED_FRESH_MS = 10_000;

/** A file as a listing named it. */
interface Listed {
  size: number;
  etag: string;
  /** When the listing was asked for (`Date.now()`). */
  at: number;
}

/**
 * A `Storage` over an S3 bucket (AWS or a compatible store: MinIO, R2, GCS interoperability) under a key
 * prefix. Keys are `<prefix>/<path>`; folders are key prefixes, so a folder exists while something is stored
 * under it (the storage root always does).
 *
 * Writes publish on `close()` only (a single PUT, or a multipart upload completed then), so every reader sees
 * whole objects; the writers' order (data first, `.metadata` or the index last) is the commit. S3 has no
 * rename: `rename` is a server-side copy then a delete, which keeps the target whole at every moment (the
 * writers rename only their small commit records). A sink for a key first aborts multipart uploads a killed
 * earlier writer of that key left behind, so re-running a failed job leaves no stored parts.
 */
export class S3Storage implements Storage {
  readonly description: string;
  /** Every read is a request (see `Storage.remote`). */
  readonly remote = true;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix that is this storage's root, without leading or trailing slashes ("" for the whole bucket). */
  readonly prefix: string;
  readonly #client: S3Client;
  /** Sinks neither closed nor aborted yet. */
  readonly #open = new Set<S3Sink>();
  /** Files the recent listings named, by storage path (see LISTED_FRESH_MS). */
  readonly #listed = new Map<string, Listed>();
  /** Writes begun or ended so far: a listing that overlapped one keeps nothing (it may predate the write). */
  #writes = 0;

  /** Resolves `options` (refusing bad ones with E_USAGE); sends no request. */
  constructor(options: S3StorageOptions) {
    const config = resolveS3Config(options);
    this.#client = new S3Client(config);
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.description = `s3://${config.bucket}/${config.prefix}`;
  }

  /** `s3://bucket/prefix` with the other options (credentials and endpoint default to the environment). */
  static fromUrl(url: string, options: Omit<S3StorageOptions, "bucket" | "prefix"> = {}): S3Storage {
    return new S3Storage({ ...options, ...parseS3Url(url) });
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    const rel = normalizePath(path);
    if (rel === "") return undefined;
    const head = await this.#lookup(rel);
    return head && (head.etag === undefined ? { size: head.size } : { size: head.size, version: head.etag });
  }

  async open(path: string): Promise<ByteSource> {
    const rel = normalizePath(path);
    const head = rel === "" ? undefined : await this.#lookup(rel);
    if (head === undefined) {
      throw new StorageError("E_NOT_FOUND", `no such file (s3://${this.bucket}/${this.#key(rel)})`, { path: rel });
    }
    return new S3Source(this.#client, this.#key(rel), rel, head.size, head.etag);
  }

  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return readRange(this, path, offset, length);
  }

  readAll(path: string): Promise<Uint8Array> {
    return readWhole(this, path);
  }

  async create(path: string): Promise<ByteSink> {
    const rel = normalizePath(path);
    if (rel === "") throw new UsageError("E_USAGE", "cannot create the storage root as a file");
    this.#forgetListings();
    const parents: string[] = [];
    for (let d = dirname(rel); d !== ""; d = dirname(d)) parents.push(d);
    const [isFolder, fileParent] = await Promise.all([
      this.#hasObjectsUnder(rel),
      Promise.all(parents.map(async (d) => (await this.#head(d)) ? d : undefined)),
      this.#abortLeftUploads(rel),
    ]);
    if (isFolder) throw new StorageError("E_EXISTS", "is a folder", { path: rel });
    const file = fileParent.find((d) => d !== undefined);
    if (file !== undefined) throw new StorageError("E_EXISTS", "a parent folder is a file", { path: file });
    const sink = new S3Sink(this.#client, this.#key(rel), rel, (done) => {
      this.#open.delete(done);
      this.#forgetListings();
    });
    this.#open.add(sink);
    return sink;
  }

  /**
   * Aborts every write still open (their multipart uploads with them), e.g. when the process is told to stop:
   * a stopped job then leaves no stored parts behind.
   */
  async abortOpenWrites(): Promise<void> {
    await Promise.allSettled([...this.#open].map((sink) => sink.abort()));
  }

  writeAll(path: string, bytes: Uint8Array): Promise<void> {
    return writeWhole(this, path, bytes);
  }

  async list(dir: string): Promise<DirEntry[] | undefined> {
    const rel = normalizePath(dir);
    const prefix = this.#folderPrefix(rel);
    const out: DirEntry[] = [];
    const at = Date.now();
    const writes = this.#writes;
    for (const [path, listed] of this.#listed) if (at - listed.at > LISTED_FRESH_MS) this.#listed.delete(path);
    for await (const page of this.#pages(prefix, "/", rel)) {
      for (const block of elementBlocks(page, "Contents")) {
        const name = (elementText(block, "Key") ?? "").slice(prefix.length);
        if (!isChildName(name)) continue;
        out.push({ name, kind: "file" });
        if (this.#writes === writes) this.#remember(rel === "" ? name : `${rel}/${name}`, block, at);
      }
      for (const block of elementBlocks(page, "CommonPrefixes")) {
        const name = (elementText(block, "Prefix") ?? "").slice(prefix.length).replace(/\/$/, "");
        if (isChildName(name)) out.push({ name, kind: "dir" });
      }
    }
    if (out.length === 0 && rel !== "") return undefined;
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async rename(from: string, to: string): Promise<void> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === "" || dst === "") throw new UsageError("E_USAGE", "cannot rename the storage root");
    const head = await this.#head(src);
    if (head !== undefined) {
      if (await this.#hasObjectsUnder(dst)) throw new StorageError("E_EXISTS", "target is a folder", { path: dst });
      await this.#copy(src, dst, head.size);
      await this.#delete(src);
      return;
    }
    const files = await this.#allUnder(src);
    if (files.length === 0) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: src });
    if (dst === src || dst.startsWith(`${src}/`)) {
      throw new UsageError("E_USAGE", "cannot move a folder into itself", { path: src });
    }
    if ((await this.#head(dst)) || (await this.#hasObjectsUnder(dst))) {
      throw new StorageError("E_EXISTS", "target exists", { path: dst });
    }
    await runLimited(
      files.map((f) => () => this.#copy(f.rel, dst + f.rel.slice(src.length), f.size)),
      BATCH_CONCURRENCY,
    );
    await runLimited(files.map((f) => () => this.#delete(f.rel)), BATCH_CONCURRENCY);
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const rel = normalizePath(path);
    if (rel === "") throw new UsageError("E_USAGE", "refusing to remove the storage root");
    if (await this.#head(rel)) return await this.#delete(rel);
    if (!(await this.#hasObjectsUnder(rel))) {
      throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: rel });
    }
    if (!options.recursive) {
      throw new UsageError("E_USAGE", "folder is not empty; pass { recursive: true }", { path: rel });
    }
    const files = await this.#allUnder(rel);
    await runLimited(files.map((f) => () => this.#delete(f.rel)), BATCH_CONCURRENCY);
  }

  /** The multipart uploads not yet completed or aborted under this storage's prefix (keys relative to it). */
  async pendingUploads(): Promise<{ path: string; uploadId: string }[]> {
    const prefix = this.#folderPrefix("");
    const out: { path: string; uploadId: string }[] = [];
    let marker: Record<string, string> = {};
    for (let pages = 0;; pages++) {
      const { xml } = await this.#client.sendXml({
        method: "GET",
        query: { uploads: "", prefix, ...marker },
        path: "",
        what: "ListMultipartUploads",
        accept: [200],
      });
      for (const block of elementBlocks(xml, "Upload")) {
        out.push({
          path: (elementText(block, "Key") ?? "").slice(prefix.length),
          uploadId: elementText(block, "UploadId") ?? "",
        });
      }
      if (elementText(xml, "IsTruncated") !== "true") return out;
      marker = {
        "key-marker": elementText(xml, "NextKeyMarker") ?? "",
        "upload-id-marker": elementText(xml, "NextUploadIdMarker") ?? "",
      };
      if (pages > 100_000) throw new StorageError("E_IO", "ListMultipartUploads never ends", { path: "" });
    }
  }

  #key(rel: string): string {
    return this.prefix === "" ? rel : rel === "" ? this.prefix : `${this.prefix}/${rel}`;
  }

  /** The key prefix of a folder's contents (ends with `/`, or "" for the root of a bucket-wide storage). */
  #folderPrefix(rel: string): string {
    const key = this.#key(rel);
    return key === "" ? "" : `${key}/`;
  }

  /**
   * Keeps what a listing's `<Contents>` block says of file `rel`, when it gives a size and an ETag (a file
   * listed without one is asked with a HEAD, whose ETag pins its reads).
   */
  #remember(rel: string, block: string, at: number): void {
    const size = Number(elementText(block, "Size")?.trim() ?? NaN);
    const etag = elementText(block, "ETag")?.trim();
    if (!Number.isSafeInteger(size) || size < 0 || !etag) return;
    // An entity tag is a quoted string, as HEAD gives it and If-Match wants it; some stores list it bare.
    this.#listed.set(rel, { size, etag: etag.startsWith('"') ? etag : `"${etag}"`, at });
  }

  /** File `rel` as a listing of the last LISTED_FRESH_MS named it, else as a HEAD answers (undefined: none). */
  async #lookup(rel: string): Promise<{ size: number; etag: string | undefined } | undefined> {
    const listed = this.#listed.get(rel);
    if (listed !== undefined && Date.now() - listed.at <= LISTED_FRESH_MS) return listed;
    return await this.#head(rel);
  }

  async #head(rel: string): Promise<{ size: number; etag: string | undefined } | undefined> {
    const response = await this.#client.send({
      method: "HEAD",
      key: this.#key(rel),
      path: rel,
      what: "HEAD",
      accept: [200, 404],
    });
    await response.body?.cancel().catch(() => {});
    if (response.status === 404) return undefined;
    const length = response.headers.get("content-length");
    const size = length !== null && /^\d+$/.test(length) ? Number(length) : NaN;
    if (!Number.isSafeInteger(size)) {
      throw this.#client.error(
        { key: this.#key(rel), path: rel },
        200,
        "",
        `HEAD answered no usable Content-Length ('${length}')`,
      );
    }
    return { size, etag: response.headers.get("etag") ?? undefined };
  }

  /** ListObjectsV2 pages of keys under `prefix`, following continuation tokens. */
  async *#pages(prefix: string, delimiter: string | undefined, rel: string, maxKeys?: number): AsyncGenerator<string> {
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = { "list-type": "2", prefix };
      if (delimiter !== undefined) query.delimiter = delimiter;
      if (maxKeys !== undefined) query["max-keys"] = String(maxKeys);
      if (token !== undefined) query["continuation-token"] = token;
      const { xml } = await this.#client.sendXml({
        method: "GET",
        query,
        path: rel,
        what: "ListObjectsV2",
        accept: [200],
      });
      yield xml;
      if (maxKeys !== undefined || elementText(xml, "IsTruncated") !== "true") return;
      const next = elementText(xml, "NextContinuationToken");
      if (!next || next === token) {
        throw new StorageError("E_IO", "ListObjectsV2 is truncated but gives no new continuation token", { path: rel });
      }
      token = next;
    }
  }

  async #hasObjectsUnder(rel: string): Promise<boolean> {
    for await (const page of this.#pages(this.#folderPrefix(rel), undefined, rel, 1)) {
      if (elementTexts(page, "Key").length > 0) return true;
    }
    return false;
  }

  /** Every file under folder `rel`, recursively, with storage paths and sizes. */
  async #allUnder(rel: string): Promise<{ rel: string; size: number }[]> {
    const prefix = this.#folderPrefix(rel);
    const out: { rel: string; size: number }[] = [];
    for await (const page of this.#pages(prefix, undefined, rel)) {
      for (const block of elementBlocks(page, "Contents")) {
        const name = (elementText(block, "Key") ?? "").slice(prefix.length);
        if (name !== "") out.push({ rel: `${rel}/${name}`, size: integerField(block, "Size", prefix) });
      }
    }
    return out;
  }

  async #copy(src: string, dst: string, size: number): Promise<void> {
    if (size > MAX_COPY_BYTES) {
      throw new StorageError(
        "E_UNSUPPORTED",
        `S3 copies objects of at most 5 GiB in one request; this one has ${size} bytes`,
        {
          path: src,
        },
      );
    }
    const source = `/${this.bucket}/${this.#key(src).split("/").map(encodeURIComponent).join("/")}`;
    this.#forgetListings();
    try {
      await this.#client.sendXml({
        method: "PUT",
        key: this.#key(dst),
        headers: { "x-amz-copy-source": source },
        path: dst,
        what: `CopyObject from ${src}`,
        accept: [200],
      });
    } finally {
      this.#forgetListings();
    }
  }

  async #delete(rel: string): Promise<void> {
    this.#forgetListings();
    try {
      const response = await this.#client.send({
        method: "DELETE",
        key: this.#key(rel),
        path: rel,
        what: "DELETE",
        accept: [204, 200],
      });
      await response.body?.cancel().catch(() => {});
    } finally {
      this.#forgetListings();
    }
  }

  /** Called as a write begins and as it ends: what the listings said may no longer hold. */
  #forgetListings(): void {
    this.#writes++;
    this.#listed.clear();
  }

  /** Aborts the multipart uploads of exactly this key that an earlier, killed writer left. */
  async #abortLeftUploads(rel: string): Promise<void> {
    const key = this.#key(rel);
    const { xml } = await this.#client.sendXml({
      method: "GET",
      query: { uploads: "", prefix: key },
      path: rel,
      what: "ListMultipartUploads",
      accept: [200],
    });
    const left = elementBlocks(xml, "Upload").filter((b) => elementText(b, "Key") === key).map((b) =>
      elementText(b, "UploadId") ?? ""
    );
    for (const uploadId of left) {
      const response = await this.#client.send({
        method: "DELETE",
        key,
        query: { uploadId },
        path: rel,
        what: "AbortMultipartUpload (left by an earlier writer)",
        accept: [204, 200, 404],
      });
      await response.body?.cancel().catch(() => {});
    }
  }
}

/** A listing name that is one plain path segment (keys with empty, `.` or `..` segments are not files here). */
function isChildName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/");
}
