import { StorageError, UsageError } from "../../errors/mod.ts";
import { checkReadRange, readToNewBuffer } from "../byte_source.ts";
import { ioError } from "./io_error.ts";
import { type KernelCopier, kernelCopier } from "./kernel_copy.ts";
import type { LocalStat, ReadHandle } from "./local_fs.ts";
import type { ByteSource } from "../storage.ts";

/** Reads up to this size are made synchronously where Deno's FFI allows (`#readNow`). */
const SYNC_READ_BYTES = 64 << 10;
const UNOPENED = -2;

/** An open local file for random-access reads (the runtime's own file API: see `localFs`). */
export class FileSource implements ByteSource {
  readonly path: string;
  readonly size: number;
  /** Where the file is on this machine, for copies the kernel makes from it. */
  readonly localPath: string;
  /** Which file it opened (device and inode), which `localPath` may no longer name. */
  readonly file: { readonly dev: number; readonly ino: number | null };
  #handle: ReadHandle | undefined;
  /**
   * A second descriptor for small synchronous reads (Deno with FFI), opened at the second small read: a
   * source read once (a `.metadata`, a header) never loads FFI, which costs more than the one async read it
   * would save. Kept only if it is the file `handle` reads: the path may name another file by then (one
   * published over it), whose bytes the reads would return. `UNOPENED` until then; -1: none.
   */
  #syncFd = UNOPENED;
  #smallReads = 0;

  /** `stat`: the handle's own (its size and identity). */
  constructor(handle: ReadHandle, path: string, stat: LocalStat, localPath: string) {
    this.#handle = handle;
    this.path = path;
    this.size = stat.size;
    this.localPath = localPath;
    this.file = { dev: stat.dev, ino: stat.ino };
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return readToNewBuffer(this, offset, length);
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    const length = into.byteLength;
    checkReadRange(this.path, this.size, offset, length);
    let filled = length <= SYNC_READ_BYTES ? this.#readNow(offset, into) : 0;
    while (filled < length) {
      let n: number;
      try {
        n = await handle.read(into.subarray(filled), offset + filled);
      } catch (e) {
        throw ioError(e, this.path, offset + filled);
      }
      // The file shrank after open: the bytes the caller was promised no longer exist.
      if (n === 0) {
        throw new StorageError("E_OUT_OF_RANGE", "file ended early (truncated while open?)", {
          path: this.path,
          offset: offset + filled,
        });
      }
      filled += n;
    }
  }

  /**
   * Reads what it can of a small range synchronously (pread through FFI): from the page cache that takes
   * microseconds, less than an async read's trip to another thread and back, which for thousands of small
   * DCP items dominated. Returns the bytes read; the async path finishes the rest and reports errors.
   */
  #readNow(offset: number, into: Uint8Array): number {
    if (this.#smallReads++ === 0) return 0;
    const copier = kernelCopier();
    if (copier === null) return 0;
    if (this.#syncFd === UNOPENED) this.#syncFd = this.#openSync(copier);
    if (this.#syncFd < 0) return 0;
    let filled = 0;
    while (filled < into.byteLength) {
      const n = copier.readAt(this.#syncFd, into.subarray(filled), offset + filled);
      if (!(n > 0)) break;
      filled += n;
    }
    return filled;
  }

  #openSync(copier: KernelCopier): number {
    const fd = copier.open(this.localPath, false);
    if (fd < 0 || copier.isFile(fd, this.file)) return fd;
    copier.close(fd);
    return -1;
  }

  async close(): Promise<void> {
    if (this.#syncFd >= 0) kernelCopier()?.close(this.#syncFd);
    this.#syncFd = -1;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
