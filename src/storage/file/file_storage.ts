import { localFs, type LocalStat, type ReadHandle } from "./local_fs.ts";
import { StorageError, UsageError } from "../../errors/mod.ts";
import { dirname, fileToCreate, normalizePath } from "../path.ts";
import { createSinkFile } from "./sink_file.ts";
import { directSinkFile } from "./direct_file.ts";
import { FileSink } from "./file_sink.ts";
import { FileSource } from "./file_source.ts";
import { type KernelCopier, kernelCopier } from "./kernel_copy.ts";
import { ioError, isMissing } from "./io_error.ts";
import type { ByteSink, ByteSource, DirEntry, FileInfo, Storage } from "../storage.ts";
import { readRange, readWhole, writeWhole } from "../whole_file.ts";

import { removeTempsIn, TEMP_SUFFIX } from "./stale_temps.ts";

/** Bytes a file sink writes between background flushes to the device, unless told otherwise. */
const DEFAULT_FLUSH_BYTES = 64 << 20;

/** Options of `FileStorage`. */
export interface FileStorageOptions {
  /**
   * fsync every file before publishing it (default true, as PyTorch's `FileSystemWriter`). false is faster
   * and still never shows a half-written file to another process, but a power loss or kernel crash soon
   * after may leave published files incomplete (PyTorch's `sync_files=False`).
   */
  fsync?: boolean;
  /**
   * A file being written is flushed to the device in the background every this many bytes, so the fsync
   * at `close()` waits for little (default 64 MiB; 0: everything at close, as PyTorch's writer does).
   */
  flushBytes?: number;
  /**
   * Let the kernel copy ranges of local files into files being written (`copy_file_range`), where this
   * runtime can ask it to (Deno with the ffi permission, on Linux), instead of reading and writing them
   * (default true).
   */
  kernelCopies?: boolean;
  /**
   * Write files with direct I/O (Linux `O_DIRECT`: from aligned buffers to the device, not through the page
   * cache) where this runtime can (Deno with the ffi permission) and the file system takes it; elsewhere as
   * usual. For large files nobody reads back at once (seed checkpoints); a file written so gets no kernel
   * copies (default false).
   */
  directWrites?: boolean;
  /**
   * Follow symbolic links that lead outside the root (default false). Links that stay inside the root are
   * always followed; one that leaves it is refused with E_SYMLINK, so a checkpoint cannot make a reader
   * open files elsewhere (a shard linked to `~/.ssh/id_rsa`) unless the user says so (`--follow-symlinks`).
   */
  followSymlinks?: boolean;
}

/**
 * Local files under a root folder, through the runtime's own file API (`localFs`: Deno's, or node:fs). Writes
 * go to a temp file that is fsynced and renamed into place on `close()`, so a crash never leaves a
 * half-written file under its final name; while a large file is written, what it has so far is flushed
 * to the device in the background, so that the fsync finds little left to do.
 */
export class FileStorage implements Storage {
  /** The folder every path is relative to. */
  readonly root: string;
  readonly description: string;
  readonly #fsync: boolean;
  readonly #flushBytes: number;
  /** Whether copies between local files may go through the kernel (FFI is loaded at the first one). */
  readonly #kernelCopies: boolean;
  readonly #followSymlinks: boolean;
  readonly #directWrites: boolean;
  #realRoot: Promise<string> | undefined;

  /** A storage over the files below `root`. */
  constructor(root: string, opts: FileStorageOptions = {}) {
    if (typeof root !== "string" || root === "") throw new UsageError("E_USAGE", "FileStorage needs a root folder");
    const flushBytes = opts.flushBytes ?? DEFAULT_FLUSH_BYTES;
    if (!Number.isSafeInteger(flushBytes) || flushBytes < 0) {
      throw new UsageError("E_USAGE", `flushBytes must be a whole number of bytes, got ${flushBytes}`);
    }
    this.root = root;
    this.description = `file:${root}`;
    this.#fsync = opts.fsync ?? true;
    this.#flushBytes = flushBytes;
    this.#kernelCopies = opts.kernelCopies !== false;
    this.#followSymlinks = opts.followSymlinks ?? false;
    this.#directWrites = opts.directWrites ?? false;
  }

  canCopyFrom(source: Storage): boolean {
    return source instanceof FileStorage && this.#copier() !== null;
  }

  #copier(): KernelCopier | null {
    return this.#kernelCopies ? kernelCopier() : null;
  }

  /** The size of a file; undefined for a folder or a missing file. */
  async stat(path: string): Promise<FileInfo | undefined> {
    const fs = await localFs();
    const rel = normalizePath(path);
    try {
      const s = await fs.stat(await this.#inside(rel));
      return s.isFile ? { size: s.size } : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e instanceof StorageError ? e : ioError(e, rel);
    }
  }

  /** Opens a file for random reads. */
  async open(path: string): Promise<ByteSource> {
    const fs = await localFs();
    const rel = normalizePath(path);
    let handle: ReadHandle;
    try {
      // Checked before the open: opening a FIFO blocks until a writer comes, a device may never end.
      const abs = await this.#inside(rel);
      notRegular(await fs.stat(abs), rel);
      handle = await fs.openRead(abs);
    } catch (e) {
      throw e instanceof StorageError ? e : ioError(e, rel);
    }
    try {
      const s = await handle.stat();
      notRegular(s, rel);
      return new FileSource(handle, rel, s, this.#abs(rel));
    } catch (e) {
      await handle.close();
      throw e instanceof StorageError ? e : ioError(e, rel);
    }
  }

  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return readRange(this, path, offset, length);
  }

  /** Reads a whole file. */
  readAll(path: string): Promise<Uint8Array> {
    return readWhole(this, path);
  }

  async create(path: string): Promise<ByteSink> {
    const fs = await localFs();
    const rel = fileToCreate(path);
    const final = this.#abs(rel);
    const temp = `${final}.tmp-${randomHex()}`;
    try {
      if ((await fs.stat(final).catch(() => undefined))?.isDirectory) {
        throw new StorageError("E_EXISTS", "is a folder", { path: rel });
      }
      await fs.makeDirs(this.#abs(dirname(rel)));
      const file = await createSinkFile(temp);
      const sinkFile = this.#directWrites ? directSinkFile(file, temp, await fs.stat(temp)) : file;
      return new FileSink(sinkFile, rel, temp, final, {
        fsync: this.#fsync,
        flushBytes: this.#flushBytes,
        copier: sinkFile === file ? this.#copier() : null,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOTDIR" || code === "EEXIST") {
        throw new StorageError("E_EXISTS", "a parent folder is a file", { path: rel, cause: e });
      }
      throw e instanceof StorageError ? e : ioError(e, rel);
    }
  }

  /** Writes a whole file (published complete or not at all). */
  writeAll(path: string, bytes: Uint8Array): Promise<void> {
    return writeWhole(this, path, bytes);
  }

  async list(dir: string): Promise<DirEntry[] | undefined> {
    const fs = await localFs();
    const rel = normalizePath(dir);
    let dirents;
    try {
      dirents = await fs.readDir(this.#abs(rel));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw ioError(e, rel);
    }
    const out: DirEntry[] = [];
    for (const d of dirents) {
      if (TEMP_SUFFIX.test(d.name)) continue;
      let kind: DirEntry["kind"] | undefined = d.isFile ? "file" : d.isDirectory ? "dir" : undefined;
      if (kind === undefined && d.isSymlink) {
        const s = await fs.stat(this.#abs(rel === "" ? d.name : `${rel}/${d.name}`)).catch(() => undefined);
        kind = s?.isFile ? "file" : s?.isDirectory ? "dir" : undefined;
      }
      if (kind !== undefined) out.push({ name: d.name, kind });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes the temp files unfinished writes left in `dir` (see `removeStaleTemps` for the rule). */
  async removeTemps(dir: string): Promise<void> {
    await removeTempsIn(this.#abs(normalizePath(dir)));
  }

  /** Moves a file or folder, replacing a file at `to`. */
  async rename(from: string, to: string): Promise<void> {
    const fs = await localFs();
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === "" || dst === "") throw new UsageError("E_USAGE", "cannot rename the storage root");
    try {
      await fs.stat(this.#abs(src));
      await fs.makeDirs(this.#abs(dirname(dst)));
      await fs.rename(this.#abs(src), this.#abs(dst));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EINVAL") throw new UsageError("E_USAGE", "cannot move a folder into itself", { path: src });
      if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") {
        throw new StorageError("E_EXISTS", "target exists", { path: dst, cause: e });
      }
      throw ioError(e, src);
    }
  }

  /** Removes a file, or a folder (`recursive` for a non-empty one). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const fs = await localFs();
    const rel = normalizePath(path);
    if (rel === "") throw new UsageError("E_USAGE", "refusing to remove the storage root");
    const abs = this.#abs(rel);
    try {
      const s = await fs.stat(abs);
      if (!s.isDirectory) await fs.unlink(abs);
      else await fs.removeDir(abs, options.recursive === true);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") {
        throw new UsageError("E_USAGE", "folder is not empty; pass { recursive: true }", { path: rel });
      }
      throw ioError(e, rel);
    }
  }

  #abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /** The absolute path of `rel`, refused (E_SYMLINK) when links lead it outside the root and may not. */
  async #inside(rel: string): Promise<string> {
    const abs = this.#abs(rel);
    if (this.#followSymlinks || rel === "") return abs;
    const fs = await localFs();
    let real: string;
    try {
      real = await fs.realPath(abs);
    } catch {
      return abs; // missing: the caller's own call reports it
    }
    this.#realRoot ??= fs.realPath(this.root).catch(() => this.root);
    const root = await this.#realRoot;
    if (real !== root && !real.startsWith(root.endsWith("/") ? root : `${root}/`)) {
      throw new StorageError(
        "E_SYMLINK",
        `a symbolic link leads outside the storage root (to ${real}); pass followSymlinks / --follow-symlinks to allow it`,
        { path: rel },
      );
    }
    return abs;
  }
}

/** Refuses anything but a regular file: a folder as every backend does (E_NOT_FOUND), else E_NOT_REGULAR. */
function notRegular(s: LocalStat, rel: string): void {
  if (s.isFile) return;
  if (s.isDirectory) throw new StorageError("E_NOT_FOUND", "is a folder, not a file", { path: rel });
  throw new StorageError("E_NOT_REGULAR", `is ${s.isFifo ? "a FIFO" : "a device or socket"}, not a regular file`, {
    path: rel,
  });
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
