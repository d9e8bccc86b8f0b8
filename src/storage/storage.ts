/**
 * The one I/O seam of webdcp. Every format reader and writer talks to a `Storage`; backends decide where
 * bytes live (local files in Deno/Node, memory, OPFS, HTTP range reads). Paths are relative, `/`-separated
 * and never leave the storage root (see `normalizePath`).
 */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /**
   * Where the storage has one: a tag of the stored bytes that changes whenever the file is written again
   * (S3: the ETag), so a checker can tell "the same object" without reading it.
   */
  version?: string;
}

/** An entry of a folder listing. */
export interface DirEntry {
  /** The entry's name (no folder part). */
  name: string;
  /** A file or a folder. */
  kind: "file" | "dir";
}

/**
 * Receives the bytes of a streamed read in order: `chunk` holds the bytes at file `offset`. The chunk's memory
 * is reused once the call returns (or its promise settles), so a sink copies what it keeps.
 */
export type ChunkSink = (chunk: Uint8Array, offset: number) => void | Promise<void>;

/** A file opened for repeated random-access reads. */
export interface ByteSource {
  /** The file's path, for errors. */
  readonly path: string;
  /** The file's size in bytes. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; fails with E_OUT_OF_RANGE past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads exactly `into.byteLength` bytes at `offset` straight into `into`, with `read`'s checks
   * and errors, so large reads land in their destination without a second buffer. `readSourceInto`
   * falls back to `read` + copy for sources without it.
   */
  readInto?(offset: number, into: Uint8Array): Promise<void>;
  /**
   * Optional: reads exactly `length` bytes at `offset` and hands them to `sink` in order, chunk by chunk as
   * they arrive, so a long range moves through a small buffer. `streamSource` falls back to `readInto` in
   * pieces for sources without it.
   */
  readChunks?(offset: number, length: number, sink: ChunkSink): Promise<void>;
  /** Releases the file. */
  close(): Promise<void>;
}

/**
 * Bytes that already sit in a source: a sink that can copies them there without this process reading them
 * (`ByteSink.copyFrom`); anyone else reads them.
 */
export interface StoredRange {
  /** The file the bytes are in. */
  source: ByteSource;
  /** Where they start in it. */
  offset: number;
  /** How many there are. */
  length: number;
  /** The checksummed record the bytes lie in, when there is one: the CRC-32 of a run of it comes cheaper. */
  record?: ChecksummedRecord;
}

/** A stretch of a source whose CRC-32 is known, so the CRC of any run of it needs few bytes read. */
export interface ChecksummedRecord {
  /** CRC-32 of the source's bytes `[start, end)` (offsets in the source), which must lie in the record. */
  crc32(start: number, end: number): Promise<number>;
}

/** Ranges of local files by descriptor, for work that reads and writes them itself (on another thread). */
export interface DescriptorIo {
  /** What to read, in order: a descriptor open for reading, where, and how many bytes. */
  inputs: Array<{ fd: number; offset: number; length: number }>;
  /** The output file's descriptor, open for writing. */
  fd: number;
  /** Where the bytes made go in it. */
  offset: number;
}

/**
 * Bytes made from stored ones by work that reads and writes files by descriptor itself (a cast on a worker
 * thread, which then holds each band from its read to its write): a sink that can hands it descriptors
 * (`ByteSink.makeFrom`); anyone else takes the bytes from `bytes()`.
 */
export interface MadeRange {
  /** The stored bytes they are made from, in order. */
  from: readonly StoredRange[];
  /** How many bytes are made. */
  length: number;
  /**
   * Whether `make` resolves to the CRC-32 of the bytes it made (worked out where they were made, so a zip
   * record can take them without reading them back).
   */
  crc32: boolean;
  /**
   * Reads `io.inputs`, makes the bytes and writes them at `io.offset` of `io.fd`; resolves to their CRC-32
   * where `crc32` says so.
   */
  make(io: DescriptorIo): Promise<number | undefined>;
  /** The bytes, made in this process (valid until the stream's next piece is asked for). */
  bytes(): Promise<Uint8Array>;
}

/** One piece of a `ByteStream`. */
export type BytePiece = Uint8Array | StoredRange | MadeRange;

/**
 * Bytes produced when a writer gets to them: whole, or as consecutive pieces (so no buffer ever holds all of a
 * multi-GB tensor), some of which may be left where they are stored or made without passing this thread.
 */
export type ByteStream = Uint8Array | AsyncIterable<BytePiece>;

/** A file being written sequentially. Nothing is visible under the final name before `close()`. */
export interface ByteSink {
  /** The file's final path, for errors. */
  readonly path: string;
  /** Bytes accepted so far. */
  readonly position: number;
  /**
   * Accepts `bytes`; the caller may reuse them once this resolves. A backend may finish storing them later
   * (file sinks pipeline large writes), so a failure can surface from the next `write` or from `close`.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Optional: appends `length` bytes of `from` at `offset` without them passing through this process (the
   * kernel or the storage copies them). Resolves false, having appended nothing, when this sink cannot copy
   * from that source (its storage's `canCopyFrom` tells in advance); the caller then writes the bytes.
   */
  copyFrom?(from: ByteSource, offset: number, length: number): Promise<boolean>;
  /**
   * Optional: appends the bytes of `piece`, made by its own work from descriptors of this file and of the
   * local files it is made from. Resolves true once `piece.make` is under way (its failure surfaces from
   * the next call or from `close`), false, having appended nothing, where this sink cannot open them; the
   * caller then writes `piece.bytes()`.
   */
  makeFrom?(piece: MadeRange): Promise<boolean>;
  /** Flushes (and fsyncs where the backend can) and publishes the file. */
  close(): Promise<void>;
  /** Discards everything written; the final path is left untouched. */
  abort(): Promise<void>;
}

/** Files and folders under one root: local files, memory, OPFS, HTTP. Paths are relative, `/`-separated. */
export interface Storage {
  /** Human-readable location used in error messages, e.g. `file:/data/ckpt` or `memory:`. */
  readonly description: string;
  /** The size of a file; undefined for a folder or a missing file. */
  stat(path: string): Promise<FileInfo | undefined>;
  /** Opens a file for random reads (E_NOT_FOUND when missing). */
  open(path: string): Promise<ByteSource>;
  /** Convenience: open + read a range + close. */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Reads a whole file. */
  readAll(path: string): Promise<Uint8Array>;
  /** Starts writing `path` (parent folders are created). */
  create(path: string): Promise<ByteSink>;
  /** Writes a whole file, creating its folders. */
  writeAll(path: string, bytes: Uint8Array): Promise<void>;
  /** Lists a folder ("" is the root); undefined when it does not exist. */
  list(dir: string): Promise<DirEntry[] | undefined>;
  /** Moves a file or folder, replacing a file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file, or a folder (`recursive` for a non-empty one). */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /**
   * Optional: true where every read is a request over the network (HTTP, S3), whose fixed cost dwarfs a small
   * read's bytes: readers that know their small reads in advance fetch them ahead, coalesced (`PrefetchStorage`).
   */
  readonly remote?: boolean;
  /** Optional: whether this storage's sinks copy bytes of `source`'s files without reading them (`copyFrom`). */
  canCopyFrom?(source: Storage): boolean;
  /**
   * Optional, for backends whose sinks write under temp names: removes every temp file that unfinished
   * writes left in `dir` (not below it), best effort. Called once a whole output folder is committed.
   */
  removeTemps?(dir: string): Promise<void>;
}
