import { StorageError, UsageError } from "../../errors/mod.ts";
import { memorySource } from "../byte_source.ts";
import { dirname, fileToCreate, normalizePath } from "../path.ts";
import type { ByteSink, ByteSource, DirEntry, FileInfo, Storage } from "../storage.ts";
import { readRange, readWhole, writeWhole } from "../whole_file.ts";
import { MemorySink } from "./memory_sink.ts";

/**
 * A storage in memory with the same observable rules as `FileStorage`: folders exist once something was
 * created in them (and stay until removed), a sink's bytes appear under its name only on `close()`, and
 * an open source keeps reading the bytes it was opened on even if the file is replaced meanwhile.
 */
export class MemoryStorage implements Storage {
  readonly description = "memory:";
  readonly #files = new Map<string, Uint8Array>();
  readonly #dirs = new Set<string>([""]);

  /** The size of a file; undefined for a folder or a missing file. */
  async stat(path: string): Promise<FileInfo | undefined> {
    const bytes = this.#files.get(normalizePath(path));
    return bytes === undefined ? undefined : { size: bytes.byteLength };
  }

  /** Opens a file for random reads. */
  async open(path: string): Promise<ByteSource> {
    const rel = normalizePath(path);
    const bytes = this.#files.get(rel);
    if (bytes === undefined) {
      const why = this.#dirs.has(rel) ? "is a folder, not a file" : "no such file or folder";
      throw new StorageError("E_NOT_FOUND", why, { path: rel });
    }
    return memorySource(bytes, rel);
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
    if (this.#dirs.has(rel)) throw new StorageError("E_EXISTS", "is a folder", { path: rel });
    this.#makeParents(rel);
    return new MemorySink(rel, (bytes) => this.#publish(rel, bytes));
  }

  /** Writes a whole file. */
  writeAll(path: string, bytes: Uint8Array): Promise<void> {
    return writeWhole(this, path, bytes);
  }

  async list(dir: string): Promise<DirEntry[] | undefined> {
    const rel = normalizePath(dir);
    if (!this.#dirs.has(rel)) return undefined;
    const prefix = rel === "" ? "" : `${rel}/`;
    const out: DirEntry[] = [];
    const childOf = (p: string) => p.startsWith(prefix) && p.length > prefix.length && !p.includes("/", prefix.length);
    for (const f of this.#files.keys()) if (childOf(f)) out.push({ name: f.slice(prefix.length), kind: "file" });
    for (const d of this.#dirs) if (childOf(d)) out.push({ name: d.slice(prefix.length), kind: "dir" });
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Moves a file or folder, replacing a file at `to`. */
  async rename(from: string, to: string): Promise<void> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === "" || dst === "") throw new UsageError("E_USAGE", "cannot rename the storage root");
    const bytes = this.#files.get(src);
    if (bytes !== undefined) {
      if (this.#dirs.has(dst)) throw new StorageError("E_EXISTS", "target is a folder", { path: dst });
      this.#makeParents(dst);
      this.#files.delete(src);
      this.#files.set(dst, bytes);
      return;
    }
    if (!this.#dirs.has(src)) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: src });
    if (dst === src || dst.startsWith(`${src}/`)) {
      throw new UsageError("E_USAGE", "cannot move a folder into itself", { path: src });
    }
    if (this.#files.has(dst) || this.#nonEmptyDir(dst)) {
      throw new StorageError("E_EXISTS", "target exists", { path: dst });
    }
    this.#makeParents(dst);
    const move = (p: string) => (p === src ? dst : `${dst}${p.slice(src.length)}`);
    const inside = (p: string) => p === src || p.startsWith(`${src}/`);
    for (const [p, b] of [...this.#files]) if (inside(p)) (this.#files.delete(p), this.#files.set(move(p), b));
    for (const d of [...this.#dirs]) if (inside(d)) (this.#dirs.delete(d), this.#dirs.add(move(d)));
  }

  /** Removes a file, or a folder (`recursive` for a non-empty one). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const rel = normalizePath(path);
    if (rel === "") throw new UsageError("E_USAGE", "refusing to remove the storage root");
    if (this.#files.delete(rel)) return;
    if (!this.#dirs.has(rel)) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: rel });
    if (this.#nonEmptyDir(rel) && !options.recursive) {
      throw new UsageError("E_USAGE", "folder is not empty; pass { recursive: true }", { path: rel });
    }
    const inside = (p: string) => p === rel || p.startsWith(`${rel}/`);
    for (const p of [...this.#files.keys()]) if (inside(p)) this.#files.delete(p);
    for (const d of [...this.#dirs]) if (inside(d)) this.#dirs.delete(d);
  }

  #publish(rel: string, bytes: Uint8Array): void {
    // A folder removed while the sink was open makes the publishing rename fail on a file system too.
    if (!this.#dirs.has(dirname(rel))) {
      throw new StorageError("E_NOT_FOUND", "parent folder vanished before close()", { path: rel });
    }
    this.#files.set(rel, bytes);
  }

  #makeParents(rel: string): void {
    for (let d = dirname(rel); !this.#dirs.has(d); d = dirname(d)) {
      if (this.#files.has(d)) throw new StorageError("E_EXISTS", "a parent folder is a file", { path: d });
      this.#dirs.add(d);
    }
  }

  #nonEmptyDir(rel: string): boolean {
    if (!this.#dirs.has(rel)) return false;
    const prefix = `${rel}/`;
    for (const f of this.#files.keys()) if (f.startsWith(prefix)) return true;
    for (const d of this.#dirs) if (d.startsWith(prefix)) return true;
    return false;
  }
}
