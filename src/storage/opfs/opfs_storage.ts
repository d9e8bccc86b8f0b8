import { invariant, StorageError, UsageError } from "../../errors/mod.ts";
import { domName, isMissing, opfsError } from "./opfs_errors.ts";
import { moveFile, OpfsSink, OpfsSource } from "./opfs_files.ts";
import { fileToCreate, normalizePath } from "../path.ts";
import type { ByteSink, ByteSource, DirEntry, FileInfo, Storage } from "../storage.ts";
import { readRange, readWhole, writeWhole } from "../whole_file.ts";

/**
 * Temp files of unfinished sinks, as FileStorage names them, and the `.crswap` file Chromium shows beside a
 * file open in `createWritable()`: `list()` hides both.
 */
const TEMP_SUFFIX = /\.tmp-[0-9a-f]{16}(\.crswap)?$/;

type Entries = AsyncIterable<[string, FileSystemHandle]>;

/**
 * The browser's Origin Private File System (`navigator.storage.getDirectory()`) as a read-write `Storage`
 * with FileStorage's rules: path segments are nested folders, `create()` writes a temp file published on
 * `close()`, reads slice the file (`File.slice`) instead of loading it.
 *
 * One difference is OPFS's own: a source opened before its file is replaced fails with E_IO on its next
 * read instead of still reading the old bytes. Folders are renamed by copying then removing the source:
 * Chromium has no `FileSystemDirectoryHandle.move`, so a folder rename costs a copy of its bytes.
 */
export class OpfsStorage implements Storage {
  readonly description: string;
  readonly #root: FileSystemDirectoryHandle;

  /** A storage below an OPFS folder handle (see `OpfsStorage.open` for the origin's root). */
  constructor(root: FileSystemDirectoryHandle, description = "opfs:/") {
    this.#root = root;
    this.description = description;
  }

  /** The origin's OPFS root, or the folder `folder` inside it (created if missing). */
  static async origin(folder = ""): Promise<OpfsStorage> {
    const storage =
      (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<FileSystemDirectoryHandle> } } })
        .navigator?.storage;
    if (typeof storage?.getDirectory !== "function") {
      throw new StorageError("E_UNSUPPORTED", "this runtime has no Origin Private File System", { path: "opfs:" });
    }
    const rel = normalizePath(folder);
    const root = new OpfsStorage(await storage.getDirectory());
    if (rel === "") return root;
    return new OpfsStorage(await root.#makeDir(rel.split("/")), `opfs:/${rel}`);
  }

  /** The size of a file; undefined for a folder or a missing file. */
  async stat(path: string): Promise<FileInfo | undefined> {
    const rel = normalizePath(path);
    if (rel === "") return undefined;
    const file = await this.#fileHandle(rel);
    if (file === undefined) return undefined;
    try {
      return { size: (await file.getFile()).size };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw opfsError(e, rel);
    }
  }

  /** Opens a file for random reads. */
  async open(path: string): Promise<ByteSource> {
    const rel = normalizePath(path);
    const file = rel === "" ? undefined : await this.#fileHandle(rel);
    if (file === undefined) {
      const why = (await this.#dirHandle(rel)) ? "is a folder, not a file" : "no such file or folder";
      throw new StorageError("E_NOT_FOUND", why, { path: rel });
    }
    try {
      return new OpfsSource(await file.getFile(), rel);
    } catch (e) {
      throw opfsError(e, rel);
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
    const rel = fileToCreate(path);
    const { parentSegments, name } = split(rel);
    const parent = await this.#makeDir(parentSegments);
    if (await childDir(parent, name, rel)) throw new StorageError("E_EXISTS", "is a folder", { path: rel });
    const tempName = `${name}.tmp-${randomHex()}`;
    try {
      const temp = await parent.getFileHandle(tempName, { create: true });
      const stream = await temp.createWritable();
      return new OpfsSink({ path: rel, parent, name, tempName, temp }, stream);
    } catch (e) {
      await parent.removeEntry(tempName).catch(() => {});
      throw opfsError(e, rel);
    }
  }

  /** Writes a whole file (published complete or not at all). */
  writeAll(path: string, bytes: Uint8Array): Promise<void> {
    return writeWhole(this, path, bytes);
  }

  async list(dir: string): Promise<DirEntry[] | undefined> {
    const rel = normalizePath(dir);
    const handle = await this.#dirHandle(rel);
    if (handle === undefined) return undefined;
    const out: DirEntry[] = [];
    try {
      for await (const [name, h] of (handle as unknown as { entries(): Entries }).entries()) {
        if (!TEMP_SUFFIX.test(name)) out.push({ name, kind: h.kind === "directory" ? "dir" : "file" });
      }
    } catch (e) {
      throw opfsError(e, rel);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Moves a file or folder, replacing a file at `to`. */
  async rename(from: string, to: string): Promise<void> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === "" || dst === "") throw new UsageError("E_USAGE", "cannot rename the storage root");
    const file = await this.#fileHandle(src);
    if (file !== undefined) {
      if (src === dst) return;
      const to = split(dst);
      const parent = await this.#makeDir(to.parentSegments);
      const from = split(src);
      const fromParent = await this.#dir(from.parentSegments, false);
      // Another tab may remove the folder between the two lookups.
      if (!fromParent) throw new StorageError("E_NOT_FOUND", "no such file", { path: src });
      try {
        return await moveFile(file, from.name, fromParent, parent, to.name, dst);
      } catch (e) {
        throw e instanceof StorageError ? e : opfsError(e, src);
      }
    }
    const dir = await this.#dirHandle(src);
    if (dir === undefined) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: src });
    if (dst === src || dst.startsWith(`${src}/`)) {
      throw new UsageError("E_USAGE", "cannot move a folder into itself", { path: src });
    }
    if ((await this.#fileHandle(dst)) || ((await this.list(dst))?.length ?? 0) > 0) {
      throw new StorageError("E_EXISTS", "target exists", { path: dst });
    }
    const target = await this.#makeDir(dst.split("/"));
    try {
      await copyTree(dir, target);
    } catch (e) {
      throw opfsError(e, src);
    }
    await this.remove(src, { recursive: true });
  }

  /** Removes a file, or a folder (`recursive` for a non-empty one). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const rel = normalizePath(path);
    if (rel === "") throw new UsageError("E_USAGE", "refusing to remove the storage root");
    const { parentSegments, name } = split(rel);
    const parent = await this.#dir(parentSegments, false);
    if (parent === undefined) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: rel });
    try {
      await parent.removeEntry(name, { recursive: options.recursive === true });
    } catch (e) {
      if (domName(e) === "InvalidModificationError") {
        throw new UsageError("E_USAGE", "folder is not empty; pass { recursive: true }", { path: rel });
      }
      throw opfsError(e, rel);
    }
  }

  /**
   * Removes the temps (`<name>.tmp-<hex>`, and Chromium's `.crswap` beside them) that writes of a closed or
   * killed tab left in `dir`, once a whole output folder is committed (see `Storage.removeTemps`).
   */
  async removeTemps(dir: string): Promise<void> {
    const rel = normalizePath(dir);
    const handle = await this.#dirHandle(rel);
    if (handle === undefined) return;
    const temps: string[] = [];
    try {
      for await (const [name, h] of (handle as unknown as { entries(): Entries }).entries()) {
        if (h.kind === "file" && TEMP_SUFFIX.test(name)) temps.push(name);
      }
    } catch {
      return; // best effort, as for files
    }
    for (const name of temps) await handle.removeEntry(name).catch(() => {});
  }

  async #fileHandle(rel: string): Promise<FileSystemFileHandle | undefined> {
    const { parentSegments, name } = split(rel);
    const parent = await this.#dir(parentSegments, false);
    if (parent === undefined) return undefined;
    try {
      return await parent.getFileHandle(name);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw opfsError(e, rel);
    }
  }

  #dirHandle(rel: string): Promise<FileSystemDirectoryHandle | undefined> {
    return this.#dir(rel === "" ? [] : rel.split("/"), false);
  }

  /** Walks `segments` from the root; missing folders are created with `create`, else give undefined. */
  /** The folder at `segments`, created with its parents where missing. */
  async #makeDir(segments: string[]): Promise<FileSystemDirectoryHandle> {
    const dir = await this.#dir(segments, true);
    invariant(dir, "a created folder exists");
    return dir;
  }

  async #dir(segments: string[], create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    let dir = this.#root;
    for (const [i, segment] of segments.entries()) {
      try {
        dir = await dir.getDirectoryHandle(segment, { create });
      } catch (e) {
        const here = segments.slice(0, i + 1).join("/");
        if (create && domName(e) === "TypeMismatchError") {
          throw new StorageError("E_EXISTS", "a parent folder is a file", { path: here, cause: e });
        }
        if (!create && isMissing(e)) return undefined;
        throw opfsError(e, here);
      }
    }
    return dir;
  }
}

function split(rel: string): { parentSegments: string[]; name: string } {
  const segments = rel.split("/");
  return { parentSegments: segments.slice(0, -1), name: segments[segments.length - 1] };
}

async function childDir(parent: FileSystemDirectoryHandle, name: string, path: string): Promise<boolean> {
  try {
    await parent.getDirectoryHandle(name);
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw opfsError(e, path);
  }
}

/** Copies every file and folder of `from` into `to` (folder rename where directories cannot move). */
async function copyTree(from: FileSystemDirectoryHandle, to: FileSystemDirectoryHandle): Promise<void> {
  for await (const [name, h] of (from as unknown as { entries(): Entries }).entries()) {
    if (h.kind === "directory") {
      await copyTree(h as FileSystemDirectoryHandle, await to.getDirectoryHandle(name, { create: true }));
    } else {
      const stream = await (await to.getFileHandle(name, { create: true })).createWritable();
      await (await (h as FileSystemFileHandle).getFile()).stream().pipeTo(stream);
    }
  }
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
