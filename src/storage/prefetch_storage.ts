import { StorageError, UsageError } from "../errors/mod.ts";
import { checkReadRange, readSourceInto, readToNewBuffer, streamSource } from "./byte_source.ts";
import { normalizePath } from "./path.ts";
import { isRangeReader, type RangeReader, type RangeRequest, REMOTE_REQUESTS_IN_FLIGHT } from "./range_plan.ts";
import type { ByteSink, ByteSource, ChunkSink, DirEntry, FileInfo, Storage } from "./storage.ts";
import { readRange, readWhole } from "./whole_file.ts";

/** The piece size of a streamed read below a storage that cannot stream (a reused buffer). */
const STREAM_PIECE_BYTES = 8 << 20;

/** Bytes `[offset, offset + bytes.byteLength)` of a file, fetched ahead of the reads that need them. */
interface Window {
  offset: number;
  bytes: Uint8Array;
}

/** The file opened below, on first need. */
type InnerSource = () => Promise<ByteSource>;

/**
 * A read-only view of a `Storage` that serves reads from byte windows fetched ahead by planned, coalesced
 * requests (`fetch`), and sends only the other reads on. Format readers that pick at headers one small
 * read at a time (zip directories, pickles, safetensors headers) then cost no request at all once their
 * windows are in. Over a `RangeReader` (HTTP) file sizes are learned from the answers, so opening a
 * file that a window already came from sends nothing either. Over any other storage (S3, local files) each
 * file is opened once, by `fetch` and by each source of this view, and the reads that miss the windows go to
 * that one source: its own read planning (S3's streamed windows) then sees them in order.
 */
export class PrefetchStorage implements Storage {
  readonly description: string;
  /** Requests this view has sent to the storage below (fetches, probes, reads it could not serve). */
  requests = 0;
  /** Bytes those requests brought in. */
  bytesFetched = 0;
  /** Bytes held in windows now, and the most ever held. */
  heldBytes = 0;
  peakHeldBytes = 0;
  readonly #inner: Storage;
  readonly #reader: RangeReader | undefined;
  readonly #sizes = new Map<string, number | undefined>();
  readonly #windows = new Map<string, Window[]>();
  readonly #signal: AbortSignal | undefined;

  constructor(inner: Storage, options: { signal?: AbortSignal } = {}) {
    this.#inner = inner;
    this.#reader = isRangeReader(inner) ? inner : undefined;
    this.description = inner.description;
    this.#signal = options.signal;
  }

  /**
   * Up to the first `length` bytes of `path` with one request (the bytes then stay as a window), or
   * undefined when there is no such file. What format probing reads: the file it needs anyway.
   */
  async probe(path: string, length: number): Promise<Uint8Array | undefined> {
    const rel = normalizePath(path);
    this.#signal?.throwIfAborted();
    let bytes: Uint8Array;
    if (this.#reader) {
      const into = new Uint8Array(length);
      this.requests++;
      let answer: { filled: number; size: number };
      try {
        answer = await this.#reader.readUpTo(rel, 0, into);
      } catch (e) {
        if ((e as { code?: string }).code !== "E_NOT_FOUND") throw e;
        this.#sizes.set(rel, undefined);
        return undefined;
      }
      this.#sizes.set(rel, answer.size);
      bytes = into.subarray(0, answer.filled);
    } else {
      const size = await this.#size(rel);
      if (size === undefined) return undefined;
      this.requests++;
      bytes = await this.#inner.read(rel, 0, Math.min(size, length));
    }
    this.bytesFetched += bytes.byteLength;
    this.#hold(rel, { offset: 0, bytes });
    return bytes;
  }

  /** Fetches every request not yet held, `concurrency` at a time; their bytes stay until `drop()`. */
  async fetch(requests: readonly RangeRequest[], concurrency = REMOTE_REQUESTS_IN_FLIGHT): Promise<void> {
    const todo = requests.filter((r) => r.length > 0 && this.#covering(r.path, r.offset, r.length) === undefined);
    // Below a storage that is no RangeReader, each file is opened once for all of its requests.
    const opened = new Map<string, Promise<ByteSource>>();
    const sourceOf = (rel: string) => {
      let s = opened.get(rel);
      if (s === undefined) opened.set(rel, s = this.#openInner(rel));
      return s;
    };
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const r = todo[next++];
        const bytes = new Uint8Array(r.length);
        await this.#readFromInner(r.path, r.offset, bytes, () => sourceOf(r.path));
        this.#hold(r.path, { offset: r.offset, bytes });
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
    } finally {
      for (const s of await Promise.allSettled(opened.values())) if (s.status === "fulfilled") await s.value.close();
    }
  }

  /** Whether one window holds all of `[offset, offset + length)` of `path`. */
  holds(path: string, offset: number, length: number): boolean {
    return this.#covering(normalizePath(path), offset, length) !== undefined;
  }

  /** Forgets every window (later reads of their bytes go to the storage below). */
  drop(): void {
    this.#windows.clear();
    this.heldBytes = 0;
  }

  async stat(path: string): Promise<FileInfo | undefined> {
    const size = await this.#size(normalizePath(path));
    return size === undefined ? undefined : { size };
  }

  async open(path: string): Promise<ByteSource> {
    const rel = normalizePath(path);
    const size = rel === "" ? undefined : await this.#size(rel);
    if (size === undefined) throw new StorageError("E_NOT_FOUND", "no such file", { path: rel });
    // The one source below that this view source's missed reads go to (not used over a RangeReader).
    let inner: Promise<ByteSource> | undefined;
    const innerSource = () => inner ??= this.#openInner(rel);
    return new PrefetchSource(
      rel,
      size,
      (offset, into) => this.#readInto(rel, size, offset, into, innerSource),
      (offset, length, sink) => this.#readChunks(rel, size, offset, length, sink, innerSource),
      // A failed open was the failure of the read that needed it; closing has nothing to release then.
      async () => await (await inner?.catch(() => undefined))?.close(),
    );
  }

  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return readRange(this, path, offset, length);
  }

  readAll(path: string): Promise<Uint8Array> {
    return readWhole(this, path);
  }

  list(dir: string): Promise<DirEntry[] | undefined> {
    return this.#inner.list(dir);
  }

  create(path: string): Promise<ByteSink> {
    return Promise.reject(this.#readOnly(path));
  }

  writeAll(path: string, _bytes: Uint8Array): Promise<void> {
    return Promise.reject(this.#readOnly(path));
  }

  rename(from: string, _to: string): Promise<void> {
    return Promise.reject(this.#readOnly(from));
  }

  remove(path: string): Promise<void> {
    return Promise.reject(this.#readOnly(path));
  }

  #readOnly(path: string): StorageError {
    return new StorageError("E_UNSUPPORTED", "a prefetching view is read-only", { path });
  }

  async #size(rel: string): Promise<number | undefined> {
    if (this.#sizes.has(rel)) return this.#sizes.get(rel);
    this.#signal?.throwIfAborted();
    this.requests++;
    const size = (await this.#inner.stat(rel))?.size;
    this.#sizes.set(rel, size);
    return size;
  }

  async #readInto(rel: string, size: number, offset: number, into: Uint8Array, inner: InnerSource): Promise<void> {
    checkReadRange(rel, size, offset, into.byteLength);
    const hit = this.#covering(rel, offset, into.byteLength);
    if (hit !== undefined) return into.set(hit);
    await this.#readFromInner(rel, offset, into, inner);
  }

  /** The file opened below (a storage that is no RangeReader), its size noted. */
  async #openInner(rel: string): Promise<ByteSource> {
    this.#signal?.throwIfAborted();
    this.requests++;
    const source = await this.#inner.open(rel);
    this.#sizes.set(rel, source.size);
    return source;
  }

  /** One request below: exactly `into.byteLength` bytes at `offset` (from `inner`'s source, over no RangeReader). */
  async #readFromInner(rel: string, offset: number, into: Uint8Array, inner: InnerSource): Promise<void> {
    this.#signal?.throwIfAborted();
    this.requests++;
    if (this.#reader) {
      const { filled, size } = await this.#reader.readUpTo(rel, offset, into);
      this.#answered(rel, offset, into.byteLength, filled, size);
    } else {
      await readSourceInto(await inner(), offset, into);
    }
    this.bytesFetched += into.byteLength;
    this.#signal?.throwIfAborted();
  }

  /**
   * `length` bytes at `offset` to `sink` as they arrive: from a window when one holds them, else with one
   * streamed request where the storage below streams (`streamUpTo`, or a source's `readChunks`), else read
   * in pieces of at most `STREAM_PIECE_BYTES`.
   */
  async #readChunks(
    rel: string,
    size: number,
    offset: number,
    length: number,
    sink: ChunkSink,
    inner: InnerSource,
  ): Promise<void> {
    checkReadRange(rel, size, offset, length);
    const hit = this.#covering(rel, offset, length);
    if (hit !== undefined) return await sink(hit, offset);
    this.#signal?.throwIfAborted();
    if (this.#reader?.streamUpTo) {
      this.requests++;
      const { filled, size } = await this.#reader.streamUpTo(rel, offset, length, sink);
      this.#answered(rel, offset, length, filled, size);
      this.bytesFetched += length;
    } else if (this.#reader) {
      const piece = new Uint8Array(Math.min(length, STREAM_PIECE_BYTES));
      for (let done = 0; done < length; done += piece.byteLength) {
        const into = piece.subarray(0, Math.min(piece.byteLength, length - done));
        await this.#readFromInner(rel, offset + done, into, inner);
        await sink(into, offset + done);
      }
    } else {
      this.requests++;
      await streamSource(await inner(), offset, length, sink, new Uint8Array(Math.min(length, STREAM_PIECE_BYTES)));
      this.bytesFetched += length;
    }
    this.#signal?.throwIfAborted();
  }

  /** Checks a range answer against the size known so far and the bytes asked for. */
  #answered(rel: string, offset: number, length: number, filled: number, size: number): void {
    const known = this.#sizes.get(rel);
    if (known !== undefined && known !== size) {
      throw new StorageError("E_IO", `file is now ${size} bytes, was ${known} when first read`, { path: rel, offset });
    }
    this.#sizes.set(rel, size);
    if (filled !== length) {
      throw new StorageError("E_TRUNCATED", `file ends at ${size}, before the ${length} bytes at ${offset}`, {
        path: rel,
        offset: offset + filled,
      });
    }
  }

  #hold(rel: string, window: Window): void {
    let list = this.#windows.get(rel);
    if (list === undefined) this.#windows.set(rel, list = []);
    list.push(window);
    this.heldBytes += window.bytes.byteLength;
    this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldBytes);
  }

  /** The held bytes `[offset, offset + length)` of `rel`, when one window has them all. */
  #covering(rel: string, offset: number, length: number): Uint8Array | undefined {
    for (const w of this.#windows.get(rel) ?? []) {
      if (offset >= w.offset && offset + length <= w.offset + w.bytes.byteLength) {
        return w.bytes.subarray(offset - w.offset, offset - w.offset + length);
      }
    }
    return undefined;
  }
}

class PrefetchSource implements ByteSource {
  #closed = false;

  constructor(
    readonly path: string,
    readonly size: number,
    private readonly readAt: (offset: number, into: Uint8Array) => Promise<void>,
    private readonly streamAt: (offset: number, length: number, sink: ChunkSink) => Promise<void>,
    private readonly closeInner: () => Promise<void>,
  ) {}

  read(offset: number, length: number): Promise<Uint8Array> {
    return readToNewBuffer(this, offset, length);
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    if (this.#closed) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    if (into.byteLength === 0) return checkReadRange(this.path, this.size, offset, 0);
    await this.readAt(offset, into);
  }

  async readChunks(offset: number, length: number, sink: ChunkSink): Promise<void> {
    if (this.#closed) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    if (length === 0) return checkReadRange(this.path, this.size, offset, 0);
    await this.streamAt(offset, length, sink);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.closeInner();
  }
}
