import { StorageError, UsageError } from "../../errors/mod.ts";
import { checkReadRange } from "../byte_source.ts";
import { domName, opfsError } from "./opfs_errors.ts";
import { pumpChunks } from "../pump_chunks.ts";
import type { ByteSink, ByteSource, ChunkSink } from "../storage.ts";

/** How long a streamed read may give nothing before its stream is replaced, and how often. */
const STALL_MS = 10_000;
const STALL_RETRIES = 3;

/** `FileSystemHandle.move` (Chromium, Firefox, Safari 16.4+) is missing from TypeScript's DOM types. */
type Movable = { move?: (parent: FileSystemDirectoryHandle, name: string) => Promise<void> };

/**
 * Reads through the `File` snapshot taken at open: `slice(a, b).arrayBuffer()` per read, so nothing is
 * held in memory between reads. OPFS invalidates the snapshot when the file is replaced; such reads fail
 * with E_IO rather than mixing old and new bytes.
 */
export class OpfsSource implements ByteSource {
  readonly path: string;
  readonly size: number;
  #file: File | undefined;

  constructor(file: File, path: string) {
    this.#file = file;
    this.path = path;
    this.size = file.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const file = this.#file;
    if (file === undefined) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    checkReadRange(this.path, this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    } catch (e) {
      throw opfsError(e, this.path, offset);
    }
    if (bytes.byteLength !== length) {
      throw new StorageError("E_TRUNCATED", `read ${bytes.byteLength} of ${length} bytes`, {
        path: this.path,
        offset: offset + bytes.byteLength,
      });
    }
    return bytes;
  }

  /**
   * Streams a range through `Blob.stream()`: a byte stream in Chromium, read with one reused buffer, so
   * a long read neither allocates per chunk nor waits for its last byte before the sink starts. Seen in
   * Chromium 156 on a busy machine (about one load in twenty, two of four concurrent streams of one file):
   * a stream stops delivering mid-file for good. A read that gives nothing for `STALL_MS` cancels its
   * stream and the rest is read from a fresh one, `STALL_RETRIES` times at most, then E_IO.
   */
  async readChunks(offset: number, length: number, sink: ChunkSink): Promise<void> {
    const file = this.#file;
    if (file === undefined) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    checkReadRange(this.path, this.size, offset, length);
    let done = 0;
    for (let stalls = 0; done < length;) {
      const from = offset + done;
      const stream = file.slice(from, offset + length).stream() as ReadableStream<Uint8Array>;
      const got = await pumpChunks(
        stream,
        length - done,
        (chunk, at) => sink(chunk, from + at),
        (cause, filled) => opfsError(cause, this.path, from + filled),
        { untilEnd: false, stallMs: STALL_MS }, // a slice holds exactly its bytes: no read waits for its end
      );
      done += got.filled;
      if (got.stalled && ++stalls <= STALL_RETRIES) continue;
      if (got.stalled) {
        throw new StorageError("E_IO", `reading stalled ${stalls} times (no bytes for ${STALL_MS} ms)`, {
          path: this.path,
          offset: offset + done,
        });
      }
      if (done !== length) {
        throw new StorageError("E_TRUNCATED", `read ${done} of ${length} bytes`, {
          path: this.path,
          offset: offset + done,
        });
      }
    }
  }

  close(): Promise<void> {
    this.#file = undefined;
    return Promise.resolve();
  }
}

/** Where a sink writes and where it publishes. */
export interface SinkPlace {
  path: string;
  parent: FileSystemDirectoryHandle;
  name: string;
  tempName: string;
  temp: FileSystemFileHandle;
}

/**
 * Writes a temp file in the target's folder through `createWritable()` and moves it over the final name on
 * `close()` (copy + remove where `move` is missing), so the final name never shows a partial file.
 */
export class OpfsSink implements ByteSink {
  readonly path: string;
  #position = 0;
  #stream: FileSystemWritableFileStream | undefined;
  readonly #place: SinkPlace;

  constructor(place: SinkPlace, stream: FileSystemWritableFileStream) {
    this.path = place.path;
    this.#place = place;
    this.#stream = stream;
  }

  get position(): number {
    return this.#position;
  }

  async write(bytes: Uint8Array): Promise<void> {
    const stream = this.#live();
    const at = this.#position;
    this.#position += bytes.byteLength;
    try {
      await stream.write(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw opfsError(e, this.path, at);
    }
  }

  async close(): Promise<void> {
    const stream = this.#live();
    this.#stream = undefined;
    const { parent, name, tempName, temp } = this.#place;
    try {
      await stream.close();
      await moveFile(temp, tempName, parent, parent, name, this.path);
    } catch (e) {
      await parent.removeEntry(tempName).catch(() => {});
      if (e instanceof StorageError) throw e;
      if (domName(e) === "NotFoundError") {
        throw new StorageError("E_NOT_FOUND", "parent folder vanished before close()", { path: this.path, cause: e });
      }
      throw opfsError(e, this.path);
    }
  }

  async abort(): Promise<void> {
    const stream = this.#stream;
    if (stream === undefined) return;
    this.#stream = undefined;
    await stream.abort().catch(() => {});
    await this.#place.parent.removeEntry(this.#place.tempName).catch(() => {});
  }

  #live(): FileSystemWritableFileStream {
    if (this.#stream === undefined) {
      throw new UsageError("E_USAGE", "sink already closed or aborted", { path: this.path });
    }
    return this.#stream;
  }
}

/**
 * Moves `file` (named `fromName` in `from`) to `to/toName`, replacing a file there. A folder there is
 * E_EXISTS. Without `move`, the bytes are copied through a writable (itself published atomically on
 * close) and the source entry removed.
 */
export async function moveFile(
  file: FileSystemFileHandle,
  fromName: string,
  from: FileSystemDirectoryHandle,
  to: FileSystemDirectoryHandle,
  toName: string,
  path: string,
): Promise<void> {
  try {
    await to.getDirectoryHandle(toName);
    throw new StorageError("E_EXISTS", "target is a folder", { path });
  } catch (e) {
    if (e instanceof StorageError) throw e;
  }
  const move = (file as Movable).move;
  if (typeof move === "function") return await move.call(file, to, toName);
  const target = await to.getFileHandle(toName, { create: true });
  const stream = await target.createWritable();
  await (await file.getFile()).stream().pipeTo(stream);
  await from.removeEntry(fromName);
}
