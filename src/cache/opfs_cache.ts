/**
 * A checkpoint cache in the Origin Private File System. Each entry is a byte-for-byte copy of a
 * checkpoint's files under `data/<key>/` (so any reader opens it as it would the original) and becomes
 * visible only when its commit record `entries/<key>.json` is written, last and atomically (temp file
 * moved into place). While an entry is incomplete, `data/<key>/.webdcp-journal.json` lists the SHA-256 of
 * every block stored, which is what a resumed download checks before it continues.
 */
import type { Location } from "../source/mod.ts";
import { IntegrityError, StorageError } from "../errors/mod.ts";
import { isTensorSource, type LoadInput, locateUrl } from "../loader/mod.ts";
import { OpfsStorage } from "../storage/mod.ts";
import { normalizePath } from "../storage/mod.ts";
import { Sha256 } from "./sha256.ts";

/** One cached file: its size, SHA-256, and the SHA-256 of each `blockBytes` block (to locate damage). */
export interface CachedFile {
  /** The file's path in the origin storage, which is also its path in the entry's data folder. */
  path: string;
  /** Bytes. */
  size: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
  /** SHA-256 of each `blockBytes` block in order (the last may be shorter), lowercase hex. */
  blocks: string[];
}

/** The commit record of an entry. */
export interface CacheRecord {
  /** The record format's version. */
  version: 1;
  /** The entry's key (`OpfsCache.keyOf`): 32 hex digits. */
  key: string;
  /** What was copied: the storage's description (the folder URL) and the path inside it. */
  origin: string;
  /** The checkpoint's path in its storage (a folder, or a file for safetensors and torch.save). */
  path: string;
  /** The checkpoint's format (`dcp`, `hf`, `safetensors`, `torch`). */
  format: string;
  /** Bytes per digested block (the preload's `blockBytes`). */
  blockBytes: number;
  /** The files copied: metadata files and the data files the selection needs. */
  files: CachedFile[];
  /** Bytes of all files. */
  bytes: number;
  /** Tensor selection the entry was made for (all when absent). */
  include?: readonly string[];
  /** Tensor globs left out when the entry was made. */
  exclude?: readonly string[];
  /** When the entry was committed, as an ISO 8601 string. */
  committedAt: string;
}

export const JOURNAL_NAME = ".webdcp-journal.json";
const DEFAULT_FOLDER = "webdcp-cache";

/**
 * A cache of whole checkpoints in OPFS, keyed by where they came from: `preload` fills it, `resolve` hands
 * a loader the cached copy, `verify` re-checks every block, `remove` drops an entry. Needs
 * `navigator.storage.getDirectory()` (browsers; not Deno or Node).
 */
export class OpfsCache {
  /** The cache's OPFS folder (normalized; default `webdcp-cache`). */
  readonly folder: string;
  readonly #root: OpfsStorage;

  private constructor(folder: string, root: OpfsStorage) {
    this.folder = folder;
    this.#root = root;
  }

  /** The cache in OPFS folder `folder` (created if missing). */
  static async open(folder = DEFAULT_FOLDER): Promise<OpfsCache> {
    const rel = normalizePath(folder);
    return new OpfsCache(rel, await OpfsStorage.origin(rel));
  }

  /** The storage location a URL or location input names (what the key is made of). */
  static locationOf(input: LoadInput): Location {
    if (isTensorSource(input)) {
      return { storage: input.storage, path: input.path };
    }
    return typeof input === "string" || input instanceof URL ? locateUrl(input) : input;
  }

  /** The key of an input: a digest of its storage's description and path. */
  static keyOf(input: LoadInput): string {
    const { storage, path } = OpfsCache.locationOf(input);
    return new Sha256().update(new TextEncoder().encode(`${storage.description}\n${normalizePath(path)}`)).hex().slice(
      0,
      32,
    );
  }

  /** The committed entry for `input`, if there is one. */
  async entry(input: LoadInput): Promise<CacheRecord | undefined> {
    return await this.#record(OpfsCache.keyOf(input));
  }

  /** The records of every committed entry. */
  async list(): Promise<CacheRecord[]> {
    const names = (await this.#root.list("entries")) ?? [];
    const out: CacheRecord[] = [];
    for (const n of names) {
      const key = n.name.replace(/\.json$/, "");
      if (n.kind === "file" && /^[0-9a-f]{32}$/.test(key)) {
        const r = await this.#record(key);
        if (r) out.push(r);
      }
    }
    return out;
  }

  /** Where a committed entry's files are, laid out as at their origin; undefined when not cached. */
  async location(input: LoadInput): Promise<Location | undefined> {
    const record = await this.entry(input);
    if (record === undefined) return undefined;
    return { storage: await this.dataStorage(record.key), path: record.path };
  }

  /** What a loader reads: the cached copy when there is one, else the input itself. */
  async resolve(input: LoadInput): Promise<LoadInput> {
    if (isTensorSource(input)) return input;
    return (await this.location(input)) ?? input;
  }

  /** Removes an entry (record first, so it is never visible half-removed). */
  async remove(input: LoadInput): Promise<void> {
    const key = OpfsCache.keyOf(input);
    if (await this.#root.stat(`entries/${key}.json`)) await this.#root.remove(`entries/${key}.json`);
    await this.#root.remove(`data/${key}`, { recursive: true }).catch(() => {});
  }

  /**
   * Re-reads every byte of a committed entry and checks each block's SHA-256 and each file's size:
   * E_CHECKSUM names the first damaged file and the block's offset.
   */
  async verify(input: LoadInput): Promise<CacheRecord> {
    const record = await this.entry(input);
    if (record === undefined) {
      throw new StorageError("E_NOT_FOUND", "not in the cache", { path: OpfsCache.locationOf(input).path });
    }
    const data = await this.dataStorage(record.key);
    for (const f of record.files) {
      const source = await data.open(f.path);
      try {
        if (source.size !== f.size) {
          throw new IntegrityError("E_CHECKSUM", `cached file is ${source.size} bytes, was ${f.size}`, {
            path: f.path,
          });
        }
        for (let i = 0; i * record.blockBytes < f.size; i++) {
          const offset = i * record.blockBytes;
          const block = await source.read(offset, Math.min(record.blockBytes, f.size - offset));
          if (await blockDigest(block) !== f.blocks[i]) {
            throw new IntegrityError(
              "E_CHECKSUM",
              `cached block of ${block.byteLength} bytes differs from what was stored`,
              {
                path: f.path,
                offset,
              },
            );
          }
        }
      } finally {
        await source.close();
      }
    }
    return record;
  }

  /** The folder holding an entry's files. */
  dataStorage(key: string): Promise<OpfsStorage> {
    return OpfsStorage.origin(`${this.folder}/data/${key}`);
  }

  /** The directory handle of an entry's data folder, for in-place writes. */
  async dataDirectory(key: string): Promise<FileSystemDirectoryHandle> {
    let dir = await navigator.storage.getDirectory();
    for (const segment of [...this.folder.split("/"), "data", key]) {
      dir = await dir.getDirectoryHandle(segment, { create: true });
    }
    return dir;
  }

  /** Publishes an entry: the record is written to a temp file and moved into place. */
  async commit(record: CacheRecord): Promise<void> {
    await this.#root.writeAll(`entries/${record.key}.json`, new TextEncoder().encode(JSON.stringify(record)));
  }

  async #record(key: string): Promise<CacheRecord | undefined> {
    const path = `entries/${key}.json`;
    if (!(await this.#root.stat(path))) return undefined;
    const record = JSON.parse(new TextDecoder().decode(await this.#root.readAll(path))) as CacheRecord;
    if (record.version !== 1 || record.key !== key || !Array.isArray(record.files)) {
      throw new StorageError("E_IO", "cache record is not one this version wrote", { path });
    }
    return record;
  }
}

/** SHA-256 of one block, as hex (WebCrypto: blocks are small enough to digest whole). */
export async function blockDigest(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
