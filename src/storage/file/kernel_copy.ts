/**
 * Copies between local files inside the kernel (Linux `copy_file_range`), so the bytes never pass through
 * this process: no read into a buffer, no write out of it. Only Deno can call it (its FFI, with the ffi
 * permission, on Linux); elsewhere `kernelCopier()` is null and files are copied through buffers. Reached
 * through `FileSink.copyFrom`; NFS 4.2 and SMB servers do such a copy without the bytes crossing the network.
 */

import { type Libc, libc, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY } from "../../tasks/mod.ts";

/** One call copies at most this much; the kernel may copy less, and the loop goes on from there. */
const MAX_CALL_BYTES = 1 << 30;
/**
 * Copies up to this size are made on the JS thread: from the page cache they take microseconds, less than
 * handing the call to another thread and back (which, for thousands of small DCP items, dominated).
 */
const SYNC_COPY_BYTES = 64 << 10;

export interface KernelCopier {
  /** An O_RDONLY (or O_WRONLY) descriptor of an existing file, or -1. */
  open(path: string, forWriting: boolean): number;
  close(fd: number): void;
  /**
   * Whether descriptor `fd` is the file with this device and inode (as Linux's /proc/self/fd shows it);
   * false where that cannot be told.
   */
  isFile(fd: number, file: { dev: number; ino: number | null }): boolean;
  /**
   * Copies `length` bytes from `fdIn` at `offsetIn` to `fdOut` at `offsetOut` (the descriptors' own
   * positions are untouched) and resolves to how many were copied: fewer when the kernel refused or the
   * source ended, which the caller finishes another way.
   */
  copy(fdIn: number, offsetIn: number, fdOut: number, offsetOut: number, length: number): Promise<number>;
  /**
   * Writes `bytes` at `position` of `fd` synchronously (pwrite) and returns how many were written, or -1:
   * for the few header bytes between copies, where an async call would cost more than the write.
   */
  writeAt(fd: number, bytes: Uint8Array, position: number): number;
  /** Reads into `into` from `position` of `fd` synchronously (pread): how many bytes it read, or -1. */
  readAt(fd: number, into: Uint8Array, position: number): number;
}

let copier: KernelCopier | null | undefined;

/** The kernel copier, or null where there is none (not Deno, not Linux, no ffi permission, no libc). */
export function kernelCopier(): KernelCopier | null {
  if (copier === undefined) copier = loadCopier();
  return copier;
}

function loadCopier(): KernelCopier | null {
  const c = libc();
  return c === null ? null : copierOf(c);
}

function copierOf(libc: Libc): KernelCopier {
  const encoder = new TextEncoder();
  return {
    // Read descriptors never block on opening: a path swapped for a FIFO since it was checked would block the JS thread.
    open: (path, forWriting) =>
      libc.open(encoder.encode(`${path}\0`), (forWriting ? O_WRONLY : O_RDONLY | O_NONBLOCK) | O_CLOEXEC, 0),
    close: (fd) => void libc.close(fd),
    isFile: (fd, file) => libc.isFile(fd, file),
    writeAt: (fd, bytes, position) => Number(libc.pwrite(fd, bytes, bytes.byteLength, BigInt(position))),
    readAt: (fd, into, position) => Number(libc.pread(fd, into, into.byteLength, BigInt(position))),
    async copy(fdIn, offsetIn, fdOut, offsetOut, length) {
      // The kernel reads and advances these two offsets; they must outlive the call, as they do here.
      const offsets = new BigInt64Array([BigInt(offsetIn), BigInt(offsetOut)]);
      const inAt = new Uint8Array(offsets.buffer, 0, 8);
      const outAt = new Uint8Array(offsets.buffer, 8, 8);
      let copied = 0;
      const small = length <= SYNC_COPY_BYTES;
      while (copied < length) {
        const count = Math.min(length - copied, MAX_CALL_BYTES);
        const n = Number(
          small
            ? libc.copy_file_range_now(fdIn, inAt, fdOut, outAt, count, 0)
            : await libc.copy_file_range(fdIn, inAt, fdOut, outAt, count, 0),
        );
        if (!(n > 0)) break; // -1: refused (another file system, say); 0: the source ended
        copied += n;
      }
      return copied;
    },
  };
}
