import { FormatError, UsageError } from "../errors/mod.ts";
import type { ByteSource, ChunkSink } from "./storage.ts";

/**
 * The largest single read a backend performs. Larger requests are refused (E_USAGE) so that no backend
 * ever allocates one ArrayBuffer above 2 GiB; callers that need more split their reads.
 */
export const MAX_READ_BYTES = 2 ** 31;

/**
 * Validates a read request against a source of `size` bytes. `base` is the absolute offset of the
 * source inside its file, so slices report positions as the file sees them.
 */
export function checkReadRange(path: string, size: number, offset: number, length: number, base = 0): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new UsageError("E_USAGE", `invalid read range offset=${offset} length=${length}`, { path });
  }
  if (length > MAX_READ_BYTES) {
    throw new UsageError("E_USAGE", `read of ${length} bytes exceeds the ${MAX_READ_BYTES}-byte limit; split it`, {
      path,
      offset: base + offset,
    });
  }
  if (offset + length > size) {
    throw new FormatError(
      "E_OUT_OF_RANGE",
      `read of ${length} bytes at ${base + offset} runs past the end (${base + size})`,
      { path, offset: base + offset },
    );
  }
}

/**
 * Fills `into` with the bytes of `source` at `offset`: through `readInto` where the source has it, else
 * `read` + copy; requests above MAX_READ_BYTES are split. Errors are the source's own.
 */
export async function readSourceInto(source: ByteSource, offset: number, into: Uint8Array): Promise<void> {
  let done = 0;
  do {
    const piece = into.subarray(done, Math.min(into.byteLength, done + MAX_READ_BYTES));
    if (source.readInto) await source.readInto(offset + done, piece);
    else piece.set(await source.read(offset + done, piece.byteLength));
    done += piece.byteLength;
  } while (done < into.byteLength);
}

/**
 * Hands `[offset, offset + length)` of `source` to `sink` in order: through `readChunks` where the source
 * streams, else read piece by piece into `scratch` (reused; its size is the piece size) with `readSourceInto`.
 */
export async function streamSource(
  source: ByteSource,
  offset: number,
  length: number,
  sink: ChunkSink,
  scratch: Uint8Array,
): Promise<void> {
  if (source.readChunks) return await source.readChunks(offset, length, sink);
  checkReadRange(source.path, source.size, offset, length);
  for (let done = 0; done < length; done += scratch.byteLength) {
    const piece = scratch.subarray(0, Math.min(scratch.byteLength, length - done));
    await readSourceInto(source, offset + done, piece);
    await sink(piece, offset + done);
  }
}

/**
 * `read` for a source whose reads land in a caller's buffer: the range is checked before anything is
 * allocated (a hostile length fails as a range error, not as an allocation), then `readInto` fills it.
 */
export async function readToNewBuffer(
  source: ByteSource & { readInto(offset: number, into: Uint8Array): Promise<void> },
  offset: number,
  length: number,
): Promise<Uint8Array> {
  checkReadRange(source.path, source.size, offset, length);
  const out = new Uint8Array(length);
  await source.readInto(offset, out);
  return out;
}

/** A `ByteSource` over bytes already in memory. Reads return copies, so callers may keep or mutate them. */
export function memorySource(bytes: Uint8Array, path: string): ByteSource {
  let closed = false;
  return {
    path,
    size: bytes.byteLength,
    read(offset: number, length: number): Promise<Uint8Array> {
      if (closed) return Promise.reject(new UsageError("E_USAGE", "read after close", { path }));
      try {
        checkReadRange(path, bytes.byteLength, offset, length);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(bytes.slice(offset, offset + length));
    },
    readInto(offset: number, into: Uint8Array): Promise<void> {
      if (closed) return Promise.reject(new UsageError("E_USAGE", "read after close", { path }));
      try {
        checkReadRange(path, bytes.byteLength, offset, into.byteLength);
      } catch (e) {
        return Promise.reject(e);
      }
      into.set(bytes.subarray(offset, offset + into.byteLength));
      return Promise.resolve();
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * A `ByteSource` over `length` bytes of `source` starting at `offset` (e.g. one record inside a zip).
 * Offsets given to `read` are relative to the slice; errors name the underlying path and absolute
 * offsets. Closing the slice does not close `source`, which stays owned by whoever opened it.
 */
export function sliceSource(source: ByteSource, offset: number, length: number): ByteSource {
  const base = sourceOrigin(source).offset + offset;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new UsageError("E_USAGE", `invalid slice offset=${offset} length=${length}`, { path: source.path });
  }
  if (offset + length > source.size) {
    throw new FormatError(
      "E_OUT_OF_RANGE",
      `slice of ${length} bytes at ${offset} runs past the end (${source.size})`,
      { path: source.path, offset: base },
    );
  }
  const slice: ByteSource = {
    path: source.path,
    size: length,
    read(relative: number, count: number): Promise<Uint8Array> {
      try {
        checkReadRange(source.path, length, relative, count, base);
      } catch (e) {
        return Promise.reject(e);
      }
      return source.read(offset + relative, count);
    },
    readInto(relative: number, into: Uint8Array): Promise<void> {
      try {
        checkReadRange(source.path, length, relative, into.byteLength, base);
      } catch (e) {
        return Promise.reject(e);
      }
      return readSourceInto(source, offset + relative, into);
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
  ORIGINS.set(slice, { source: sourceOrigin(source).source, offset: base });
  return slice;
}

/**
 * `source` with its first and last `window` bytes read up front, both at once (the whole source when it is
 * at most two windows): reads that fall inside them are served from memory, others go to `source`. A zip
 * archive keeps its headers, directory and small records there, and each small read on its own is an
 * async call (or an HTTP request) whose fixed cost dwarfs its bytes. Closing it does not close `source`.
 */
export async function cacheEnds(source: ByteSource, window: number): Promise<ByteSource> {
  const { path, size } = source;
  const origin = sourceOrigin(source);
  const base = origin.offset;
  const { headLength, tailStart } = endsOf(size, window);
  const [head, tail] = await Promise.all([
    source.read(0, headLength),
    tailStart < size ? source.read(tailStart, size - tailStart) : Promise.resolve(new Uint8Array(0)),
  ]);
  const cached = (offset: number, length: number): Uint8Array | undefined => {
    if (offset + length <= headLength) return head.subarray(offset, offset + length);
    if (offset >= tailStart) return tail.subarray(offset - tailStart, offset - tailStart + length);
    return undefined;
  };
  const ends: ByteSource = {
    path,
    size,
    read(offset: number, length: number): Promise<Uint8Array> {
      try {
        checkReadRange(path, size, offset, length, base);
      } catch (e) {
        return Promise.reject(e);
      }
      const hit = cached(offset, length);
      return hit === undefined ? source.read(offset, length) : Promise.resolve(hit.slice());
    },
    readInto(offset: number, into: Uint8Array): Promise<void> {
      try {
        checkReadRange(path, size, offset, into.byteLength, base);
      } catch (e) {
        return Promise.reject(e);
      }
      const hit = cached(offset, into.byteLength);
      if (hit === undefined) return readSourceInto(source, offset, into);
      into.set(hit);
      return Promise.resolve();
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
  ORIGINS.set(ends, origin);
  return ends;
}

/**
 * The bytes `cacheEnds` reads of a source of `size` bytes: `[0, headLength)` and `[tailStart, size)` (empty
 * when the head is the whole source). Readers that plan requests ahead ask for exactly these.
 */
export function endsOf(size: number, window: number): { headLength: number; tailStart: number } {
  const headLength = size <= 2 * window ? size : window;
  return { headLength, tailStart: Math.max(headLength, size - window) };
}

/** What a slice (or a cached-ends view) reads from: the source it was cut from and where it starts there. */
const ORIGINS = new WeakMap<ByteSource, { source: ByteSource; offset: number }>();

/**
 * The source a slice was cut from (through any nesting) and the offset of the slice's first byte in it;
 * a source that is no slice is its own origin. Errors report positions as the origin sees them, and a sink
 * that copies from files finds the file this way.
 */
export function sourceOrigin(source: ByteSource): { source: ByteSource; offset: number } {
  return ORIGINS.get(source) ?? { source, offset: 0 };
}
