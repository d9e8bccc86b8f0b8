import { localFs } from "./local_fs.ts";
import { removeStaleTemps } from "./stale_temps.ts";
import { invariant, StorageError, UsageError } from "../../errors/mod.ts";
import { ioError } from "./io_error.ts";
import { checkReadRange, sourceOrigin } from "../byte_source.ts";
import { FileSource } from "./file_source.ts";
import type { KernelCopier } from "./kernel_copy.ts";
import type { SinkFile } from "./sink_file.ts";
import type { ByteSink, ByteSource, DescriptorIo, MadeRange } from "../storage.ts";
import { readStoredRange } from "../stored_range.ts";

/**
 * Writes up to this size are gathered and reach the file together: every file write is an async call with
 * a fixed cost, and a torch.save archive alone is a dozen writes of a few bytes each.
 */
const GATHER_MAX_BYTES = 64 << 10;
const GATHER_CAPACITY = 1 << 20;
/**
 * Kernel copies one sink keeps under way at once. One: two copies into the same file contend for it in the
 * kernel (same wall time, 1.5x the system CPU measured on a 2 GiB same-dtype convert), and a job with several
 * output files already runs one sink per file.
 */
const COPIES_AT_ONCE = 1;
/**
 * Made ranges (`makeFrom`) one sink keeps under way at once: enough for a few worker threads to each have
 * one at work and the next one waiting.
 */
const MADE_AT_ONCE = 16;

export interface FileSinkOptions {
  /** fsync the file before it is published (false: as PyTorch's `sync_files=False`, no flushes either). */
  fsync: boolean;
  /**
   * The bytes written are handed to the device in the background every this many bytes (fdatasync on a
   * second descriptor, one at a time), so that the writeback overlaps the writing and `close()`'s fsync
   * finds little left to do; 0 leaves it all to `close()`. Without it, a multi-GB output piles up in the
   * page cache and is then written back while everything waits.
   */
  flushBytes: number;
  /** Copies ranges of local files inside the kernel (`copyFrom`); null: there is no such copier here. */
  copier: KernelCopier | null;
}

/**
 * A file written through a temp file that is fsynced (unless told not to) and renamed into place on
 * `close()`. Large writes go to the file straight from the caller's bytes (no copy): `write` resolves once
 * the file has them, so a caller overlaps its next computation with a write by preparing the next buffer
 * while it runs (as the converters' band pipelines do). Small writes are copied and gathered, and resolve at
 * once. Ranges of other local files are appended by the kernel where it can (`copyFrom`): a few such copies
 * run at once, since each lands at its own place in the file; `copyFrom` resolves as soon as its copy is
 * under way. Made ranges (`makeFrom`) get the descriptors of their sources and of this file, and write at
 * their place themselves, a few at once. A failure of something that resolved early surfaces from the next
 * call or from `close`.
 */
export class FileSink implements ByteSink {
  readonly path: string;
  #file: SinkFile | undefined;
  #position = 0;
  /** The last write through the file's own handle; each starts when the previous has finished. */
  #writes: Promise<void> = Promise.resolve();
  /** Kernel copies under way. */
  readonly #copies = new Set<Promise<void>>();
  /** Made ranges under way. */
  readonly #made = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #gather: Uint8Array | undefined;
  #gathered = 0;
  #unflushed = 0;
  #flushing: Promise<void> | undefined;
  readonly #fsync: boolean;
  readonly #flushBytes: number;
  readonly #copier: KernelCopier | null;
  /**
   * Descriptors the kernel copies through: the temp file's, and each source file's by device and inode (-1:
   * its bytes go through a buffer).
   */
  #copyOutput: number | undefined;
  readonly #copyInputs = new Map<string, number>();
  readonly #temp: string;
  readonly #final: string;

  constructor(file: SinkFile, path: string, temp: string, final: string, opts: FileSinkOptions) {
    this.#file = file;
    this.path = path;
    this.#temp = temp;
    this.#final = final;
    this.#fsync = opts.fsync;
    this.#flushBytes = opts.fsync ? opts.flushBytes : 0;
    this.#copier = opts.copier;
  }

  get position(): number {
    return this.#position;
  }

  write(bytes: Uint8Array): Promise<void> {
    try {
      const file = this.#live();
      if (this.#failure) throw this.#failure.error;
      if (bytes.byteLength > GATHER_MAX_BYTES) {
        this.#queueGathered(file);
        const at = this.#position;
        this.#position += bytes.byteLength;
        return this.#queueWrite(file, bytes, at);
      }
      if (this.#gathered + bytes.byteLength > GATHER_CAPACITY) this.#queueGathered(file);
      this.#gather ??= new Uint8Array(GATHER_CAPACITY);
      this.#gather.set(bytes, this.#gathered);
      this.#gathered += bytes.byteLength;
      this.#position += bytes.byteLength;
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async copyFrom(from: ByteSource, offset: number, length: number): Promise<boolean> {
    const file = this.#live();
    this.#throwIfFailed();
    const origin = sourceOrigin(from);
    const copier = this.#copier;
    if (copier === null || !(origin.source instanceof FileSource)) return false;
    checkReadRange(from.path, from.size, offset, length, origin.offset);
    const input = origin.source;
    const inputAt = origin.offset + offset;
    await this.#storeBeside(file, length, this.#copies, COPIES_AT_ONCE, async (at) => {
      const fdIn = this.#copyInput(copier, input);
      const fdOut = this.#copyOutput ??= copier.open(this.#temp, true);
      const copied = fdIn >= 0 && fdOut >= 0 ? await copier.copy(fdIn, inputAt, fdOut, at, length) : 0;
      // What the kernel would not copy (another file system, say) goes through a buffer, whose reads and
      // writes then report any real error.
      let to = at + copied;
      await readStoredRange({ source: from, offset: offset + copied, length: length - copied }, async (piece) => {
        await this.#queueWrite(file, piece, to, false);
        to += piece.byteLength;
      });
    });
    return true;
  }

  async makeFrom(piece: MadeRange): Promise<boolean> {
    const file = this.#live();
    this.#throwIfFailed();
    const copier = this.#copier;
    if (copier === null) return false;
    const inputs: DescriptorIo["inputs"] = [];
    for (const range of piece.from) {
      const origin = sourceOrigin(range.source);
      if (!(origin.source instanceof FileSource)) return false;
      checkReadRange(range.source.path, range.source.size, range.offset, range.length, origin.offset);
      const fd = this.#copyInput(copier, origin.source);
      if (fd < 0) return false;
      inputs.push({ fd, offset: origin.offset + range.offset, length: range.length });
    }
    const fd = this.#copyOutput ??= copier.open(this.#temp, true);
    if (fd < 0) return false;
    await this.#storeBeside(
      file,
      piece.length,
      this.#made,
      MADE_AT_ONCE,
      async (offset) => void await piece.make({ inputs, fd, offset }),
    );
    return true;
  }

  /**
   * Takes the next `length` bytes of the file for `store`, which puts them there itself (not through the
   * file's handle), and starts it once fewer than `limit` of its kind (`underWay`) run; its failure is
   * recorded like a write's.
   */
  async #storeBeside(
    file: SinkFile,
    length: number,
    underWay: Set<Promise<void>>,
    limit: number,
    store: (at: number) => Promise<void>,
  ): Promise<void> {
    this.#queueGathered(file);
    const at = this.#position;
    this.#position += length;
    while (underWay.size >= limit) await Promise.race(underWay);
    this.#throwIfFailed();
    const run = this.#settled(length, () => store(at)).finally(() => underWay.delete(run));
    underWay.add(run);
  }

  async close(): Promise<void> {
    const fs = await localFs();
    const file = this.#live();
    try {
      this.#queueGathered(file);
      this.#file = undefined;
      await this.#drain();
      await this.#flushing;
      if (this.#failure) throw this.#failure.error;
      if (this.#fsync) await file.sync();
      await file.close();
      await fs.rename(this.#temp, this.#final);
      await removeStaleTemps(this.#final);
    } catch (e) {
      this.#file = undefined;
      this.#closeCopyDescriptors();
      await file.close().catch(() => {});
      await fs.unlink(this.#temp).catch(() => {});
      throw e instanceof StorageError ? e : ioError(e, this.path);
    } finally {
      this.#gather = undefined;
    }
  }

  async abort(): Promise<void> {
    const fs = await localFs();
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.#gather = undefined;
    await this.#drain();
    await this.#flushing?.catch(() => {});
    await file.close().catch(() => {});
    await fs.unlink(this.#temp).catch(() => {});
  }

  /** Waits for every write and copy under way (their failures are in #failure), then closes copy descriptors. */
  async #drain(): Promise<void> {
    await Promise.all([this.#writes, ...this.#copies, ...this.#made]);
    this.#closeCopyDescriptors();
  }

  /** Queues what was gathered as one write (of a copy: the gather buffer fills again at once). */
  #queueGathered(file: SinkFile): void {
    if (this.#gathered === 0) return;
    const at = this.#position - this.#gathered;
    invariant(this.#gather, "bytes were gathered, so the gather buffer exists");
    const gathered = this.#gather.subarray(0, this.#gathered);
    this.#gathered = 0;
    // Between kernel copies, a synchronous pwrite of these few bytes costs less than an async write plus
    // the seek the file's own handle needs after a copy moved past it. Any trouble: the async way.
    const fd = this.#copyOutput;
    if (fd !== undefined && fd >= 0 && this.#copier?.writeAt(fd, gathered, at) === gathered.byteLength) {
      this.#account(gathered.byteLength);
      return;
    }
    this.#queueWrite(file, gathered.slice(), at).catch(() => {}); // recorded in #failure, reported by the next call
  }

  /**
   * Writes `bytes` at `at` through the file's handle after the writes queued before; resolves when the file
   * has them. `counts`: whether they count towards the next background flush (a copy counts its own).
   */
  #queueWrite(file: SinkFile, bytes: Uint8Array, at: number, counts = true): Promise<void> {
    const run = this.#writes.then(() => {
      if (this.#failure) throw this.#failure.error;
      return this.#settled(counts ? bytes.byteLength : 0, () => this.#writeAll(file, bytes, at));
    }).then(() => {
      if (this.#failure) throw this.#failure.error;
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  /**
   * Runs `store` (which puts `length` bytes in the file), records its failure, and starts a background
   * flush when enough bytes have been stored since the last. Never rejects: failures are in #failure.
   */
  async #settled(length: number, store: () => Promise<void>): Promise<void> {
    try {
      await store();
    } catch (error) {
      this.#failure ??= { error };
      return;
    }
    this.#account(length);
  }

  /** Counts `length` more bytes stored, starting a background flush when enough have been since the last. */
  #account(length: number): void {
    this.#unflushed += length;
    const file = this.#file;
    if (file === undefined || this.#flushBytes === 0 || this.#unflushed < this.#flushBytes || this.#flushing) return;
    this.#unflushed = 0;
    this.#flushing = file.flush().then(
      () => {
        this.#flushing = undefined;
      },
      (error) => {
        this.#failure ??= { error: ioError(error, this.path) };
      },
    );
  }

  async #writeAll(file: SinkFile, bytes: Uint8Array, at: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      try {
        done += await file.write(bytes.subarray(done), at + done);
      } catch (e) {
        throw ioError(e, this.path, at + done);
      }
    }
  }

  /**
   * A descriptor of the file `source` opened, or -1 (then its bytes go through a buffer): opened by its path,
   * and kept only if that path still names that file (not one renamed over it since).
   */
  #copyInput(copier: KernelCopier, source: FileSource): number {
    const key = `${source.file.dev}:${source.file.ino}`;
    let fd = this.#copyInputs.get(key);
    if (fd === undefined) {
      fd = copier.open(source.localPath, false);
      if (fd >= 0 && !copier.isFile(fd, source.file)) {
        copier.close(fd);
        fd = -1;
      }
      this.#copyInputs.set(key, fd);
    }
    return fd;
  }

  #closeCopyDescriptors(): void {
    for (const fd of [this.#copyOutput ?? -1, ...this.#copyInputs.values()]) if (fd >= 0) this.#copier?.close(fd);
    this.#copyOutput = undefined;
    this.#copyInputs.clear();
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }

  #live(): SinkFile {
    if (this.#file === undefined) {
      throw new UsageError("E_USAGE", "sink already closed or aborted", { path: this.path });
    }
    return this.#file;
  }
}
