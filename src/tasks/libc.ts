/**
 * The C library's file calls, reached through Deno's FFI on Linux: kernel copies and direct writes
 * (storage/file), and the GPU device-node check (engine/gpu) use them. Null elsewhere: not Deno, not Linux, no ffi permission, or no
 * glibc (musl, a stripped image); then the runtime's own file API does the work.
 */

/** Linux's open flags, the same on every architecture Deno ships for. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;
/** x86-64's and aarch64's differ (0o40000 and 0o200000). */
export const O_DIRECT = { x86_64: 0o40000, aarch64: 0o200000 } as Record<string, number | undefined>;

type Size = number | bigint;
type CopyRangeArgs = [fdIn: number, offIn: Uint8Array, fdOut: number, offOut: Uint8Array, length: Size, flags: number];

export interface Libc {
  /** The machine's architecture (Deno's `build.arch`). */
  arch: string;
  open: (path: Uint8Array, flags: number, mode: number) => number;
  /** 0 when `path` (NUL-terminated) passes the check `mode` (0: it exists). */
  access: (path: Uint8Array, mode: number) => number;
  close: (fd: number) => number;
  pwrite: (fd: number, bytes: Uint8Array, length: Size, position: Size) => Size;
  /** pwrite on Deno's blocking pool: the JS thread goes on meanwhile. */
  pwrite_async: (fd: number, bytes: Uint8Array, length: Size, position: Size) => Promise<Size>;
  pread: (fd: number, into: Uint8Array, length: Size, position: Size) => Size;
  ftruncate: (fd: number, length: Size) => number;
  /** copy_file_range on Deno's blocking pool. */
  copy_file_range: (...args: CopyRangeArgs) => Promise<Size>;
  copy_file_range_now: (...args: CopyRangeArgs) => Size;
  /** Whether descriptor `fd` is the file with this device and inode (false where that cannot be told). */
  isFile(fd: number, file: { dev: number; ino: number | null }): boolean;
  /** The address of a view's first byte. */
  address(view: Uint8Array): bigint;
}

type DenoFfi = {
  build: { os: string; arch: string };
  permissions: { querySync(d: { name: "ffi" }): { state: string } };
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: Omit<Libc, "arch" | "isFile" | "address"> };
  statSync(path: string): { dev: number; ino: number | null };
  UnsafePointer: { of(view: Uint8Array): unknown; value(pointer: unknown): number | bigint };
};

let loaded: Libc | null | undefined;

export function libc(): Libc | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

function load(): Libc | null {
  const deno = (globalThis as unknown as { Deno?: Partial<DenoFfi> }).Deno;
  if (
    deno?.build?.os !== "linux" || typeof deno.dlopen !== "function" || typeof deno.statSync !== "function" ||
    deno.UnsafePointer === undefined
  ) return null;
  const { statSync, UnsafePointer } = deno;
  try {
    if (deno.permissions?.querySync({ name: "ffi" }).state !== "granted") return null;
    const copyRange = { parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"], result: "isize" };
    const { symbols } = deno.dlopen("libc.so.6", {
      open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
      access: { parameters: ["buffer", "i32"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
      pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
      pwrite_async: {
        name: "pwrite",
        parameters: ["i32", "buffer", "usize", "i64"],
        result: "isize",
        nonblocking: true,
      },
      pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
      ftruncate: { parameters: ["i32", "i64"], result: "i32" },
      // Off the JS thread, so copies of several files proceed while JS goes on.
      copy_file_range: { ...copyRange, nonblocking: true },
      copy_file_range_now: { name: "copy_file_range", ...copyRange },
    });
    const fstat = fstatOf(deno.dlopen);
    return {
      ...symbols,
      arch: deno.build.arch,
      isFile(fd, file) {
        if (file.ino === null) return false;
        const s = fstat?.(fd);
        if (s !== undefined) return s.dev === BigInt(file.dev) && s.ino === BigInt(file.ino);
        try {
          // Deno grants /proc/self/fd only with --allow-all: without it, false (the caller's safe answer).
          const t = statSync(`/proc/self/fd/${fd}`);
          return t.dev === file.dev && t.ino === file.ino;
        } catch {
          return false;
        }
      },
      address: (view) => BigInt(UnsafePointer.value(UnsafePointer.of(view))),
    };
  } catch {
    return null;
  }
}

/**
 * The device and inode of a descriptor (fstat), or undefined where it fails; null where libc has no
 * `fstat` symbol (glibc before 2.33). `struct stat` starts with st_dev and st_ino, 8 bytes each, on both
 * x86-64 and aarch64.
 */
function fstatOf(dlopen: DenoFfi["dlopen"]): ((fd: number) => { dev: bigint; ino: bigint } | undefined) | null {
  try {
    const { fstat } = dlopen("libc.so.6", { fstat: { parameters: ["i32", "buffer"], result: "i32" } })
      .symbols as unknown as { fstat: (fd: number, into: Uint8Array) => number };
    const buffer = new BigUint64Array(32); // 256 bytes, more than either architecture's struct stat
    const bytes = new Uint8Array(buffer.buffer);
    return (fd) => (fstat(fd, bytes) === 0 ? { dev: buffer[0], ino: buffer[1] } : undefined);
  } catch {
    return null;
  }
}
