/**
 * `preload`: copies a checkpoint (DCP of any sharding, HF folder, safetensors, torch.save) into the OPFS
 * cache byte for byte, resumable, verified and committed atomically, so that later loads make no request.
 */
import { keyFilter } from "../source/mod.ts";
import { type ProgressCallback, ProgressTracker } from "../tasks/mod.ts";
import { verify } from "../jobs/mod.ts";
import { IntegrityError, StorageError, WebdcpError } from "../errors/mod.ts";
import { isTensorSource, type LoadInput, openInput } from "../loader/mod.ts";
import { HttpStorage, type HttpStorageOptions } from "../storage/mod.ts";
import { normalizePath } from "../storage/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { cacheError, type CacheFile, openCacheFile, whenUnlocked } from "./cache_file.ts";
import { blockDigest, type CachedFile, type CacheRecord, JOURNAL_NAME, OpfsCache } from "./opfs_cache.ts";
import { Sha256 } from "./sha256.ts";

/** Where `preload` copies to, what it copies and how it reports. */
export interface PreloadOptions {
  /** The cache that receives the entry. */
  cache: OpfsCache;
  /** Copy only the data files of tensors matching these globs (metadata files always). */
  include?: readonly string[];
  /** Leave out the data files needed only by tensors matching these globs. */
  exclude?: readonly string[];
  /** Aborts between blocks; what was stored stays journaled for a later resume. */
  signal?: AbortSignal;
  /** Bytes copied (resumed bytes included) of all, and files done. */
  onProgress?: ProgressCallback;
  /**
   * Expected SHA-256 (hex) of files, by path relative to the input's folder (a manifest's digests). Over
   * HTTP, a digest the server announces for a file (`Repr-Digest`, `Digest`, `x-amz-checksum-sha256`,
   * Hugging Face's `X-Linked-ETag`) is checked where this names none.
   */
  sha256?: Record<string, string>;
  /** Bytes per request, per journaled block (default 8 MiB). */
  blockBytes?: number;
  /** Called with the plan before the first data byte moves; throwing (or aborting) stops there. */
  onPlan?: (plan: PreloadPlan) => void | Promise<void>;
  /** Ask the browser to keep the cache under storage pressure (`navigator.storage.persist()`, default true). */
  persist?: boolean;
  /** Options of the `HttpStorage` opened for a URL input. */
  http?: HttpStorageOptions;
}

/** What a preload will copy, known from metadata and headers alone. */
export interface PreloadPlan {
  /** The checkpoint's format (`dcp`, `hf`, `safetensors`, `torch`). */
  format: string;
  /** The files to copy, by storage path, with their sizes in bytes. */
  files: { path: string; size: number }[];
  /** Bytes of all files. */
  bytes: number;
  /** Bytes a journal says are stored from an interrupted preload (checked before they are kept). */
  journaledBytes: number;
  /** Data requests still to send (one per block not held from the headers already read). */
  requests: number;
  /** The origin's storage use and quota in bytes (`navigator.storage.estimate()`), where the host tells. */
  quota?: { usage: number; quota: number };
  /** Whether the bytes still to store fit the quota (true when it is unknown). */
  fitsQuota: boolean;
}

/** What `preload` did. */
export interface PreloadReport {
  /** The entry's key (`OpfsCache.keyOf`). */
  key: string;
  /** True when the entry was already committed (nothing was fetched). */
  alreadyCached: boolean;
  /**
   * The entry's files: storage path, size in bytes, SHA-256 (lowercase hex), and what the digest was
   * checked against: the caller's manifest (`sha256` option), the server's announcement, or nothing.
   */
  files: { path: string; size: number; sha256: string; checkedAgainst?: "manifest" | "server" }[];
  /** Bytes of all files. */
  bytes: number;
  /** Bytes found stored and checked from an earlier, interrupted preload. */
  resumedBytes: number;
  /** Bytes read from the origin by this call. */
  downloadedBytes: number;
  /**
   * How much of an interrupted file a killed tab keeps: every block (Worker, sync access handles), or the
   * spans committed each time the bytes written since the last commit reach those before it (main thread,
   * whose writable publishes only on close).
   */
  resumeGranularity: "block" | "span";
  /** The answer of `navigator.storage.persist()`; absent with `persist: false` or where the host has none. */
  persisted?: boolean;
  /** The origin's storage use and quota in bytes before the copy, where the host tells. */
  quota?: { usage: number; quota: number };
}

const DEFAULT_BLOCK_BYTES = 8 << 20;
/** The least a main-thread commit of a file covers, in blocks (see `openCacheFile`). */
const MIN_SPAN_BLOCKS = 4;

interface Journal {
  version: 1;
  key: string;
  blockBytes: number;
  files: Record<string, { size: number; blocks: string[] }>;
}

type Storage = { persist?: () => Promise<boolean>; estimate?: () => Promise<{ usage?: number; quota?: number }> };

/**
 * Copies `input` into `opts.cache` byte for byte and commits it: plans from metadata and headers (see
 * `onPlan`), refuses with E_QUOTA when it cannot fit, keeps blocks an interrupted preload stored after
 * checking their digests, copies the rest in `blockBytes` requests, checks `sha256` digests, verifies the
 * copy deeply and writes the record last. An input already cached returns at once.
 */
export async function preload(input: LoadInput, opts: PreloadOptions): Promise<PreloadReport> {
  const { cache, signal } = opts;
  signal?.throwIfAborted();
  const key = OpfsCache.keyOf(input);
  const committed = await cache.entry(input);
  const blockBytes = opts.blockBytes ?? committed?.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (committed) {
    return {
      key,
      alreadyCached: true,
      files: committed.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
      bytes: committed.bytes,
      resumedBytes: 0,
      downloadedBytes: 0,
      resumeGranularity: "span",
    };
  }
  const select = keyFilter(opts.include, opts.exclude);
  // A caller's open source is copied from where it was opened.
  const from = isTensorSource(input) ? OpfsCache.locationOf(input) : input;
  const opened = await openInput(from, { signal, http: opts.http, select });
  const source = opened.source;
  const view = opened.view!;
  try {
    const needed = new Set(
      source.entries.flatMap((e) => (e.kind === "tensor" && select(e.name) ? e.chunks.map((c) => c.file) : [])),
    );
    const paths = [...source.metadataFiles, ...source.files.map((f) => f.path).filter((p) => needed.has(p))];
    const files: { path: string; size: number }[] = [];
    for (const p of paths) files.push({ path: p, size: (await view.stat(p))!.size });
    const bytes = files.reduce((s, f) => s + f.size, 0);

    const dir = await cache.dataDirectory(key);
    const journal = await readJournal(dir, key, blockBytes);
    const stored = files.reduce((s, f) => {
      const j = journal.files[f.path];
      return s + (j?.size === f.size ? Math.min(f.size, j.blocks.length * blockBytes) : 0);
    }, 0);
    const browser = (globalThis as { navigator?: { storage?: Storage } }).navigator?.storage;
    const estimate = await browser?.estimate?.();
    const quota = estimate?.quota !== undefined ? { usage: estimate.usage ?? 0, quota: estimate.quota } : undefined;
    const fitsQuota = quota === undefined || quota.usage + Math.max(0, bytes - stored) <= quota.quota;
    let requests = 0;
    for (const f of files) {
      const j = journal.files[f.path];
      const from = j?.size === f.size ? Math.min(f.size, j.blocks.length * blockBytes) : 0;
      for (let o = from; o < f.size; o += blockBytes) {
        if (!view.holds(f.path, o, Math.min(blockBytes, f.size - o))) requests++;
      }
    }
    await opts.onPlan?.({ format: source.format, files, bytes, journaledBytes: stored, requests, quota, fitsQuota });
    signal?.throwIfAborted();
    if (!fitsQuota) {
      throw new StorageError(
        "E_QUOTA",
        `caching needs ${bytes - stored} more bytes; the origin uses ${quota!.usage} of its ${quota!.quota}-byte quota`,
        { path: `${cache.folder}/data/${key}` },
      );
    }
    const persisted = opts.persist === false ? undefined : await browser?.persist?.().catch(() => false);

    const progress = new ProgressTracker(bytes, files.length, opts.onProgress);
    let resumedBytes = 0;
    let downloadedBytes = 0;
    let granularity: "block" | "span" = "span";
    const cached: CachedFile[] = [];
    const checked = new Map<string, "manifest" | "server">();
    for (const f of files) {
      signal?.throwIfAborted();
      const handle = await fileHandle(dir, f.path);
      const out = await openCacheFile(handle, f.path, MIN_SPAN_BLOCKS * blockBytes);
      granularity = out.blockDurable ? "block" : "span";
      const from = await view.open(f.path);
      try {
        const entry = journal.files[f.path]?.size === f.size ? journal.files[f.path] : { size: f.size, blocks: [] };
        journal.files[f.path] = entry;
        const hash = new Sha256();
        const kept = await checkStored(out, entry, blockBytes, hash);
        resumedBytes += kept;
        progress.add(kept, f.path);
        const copied = await copyRest(
          from,
          out,
          f.size,
          kept,
          blockBytes,
          entry,
          hash,
          () => writeJournal(dir, journal),
          (n) => progress.add(n, f.path),
          signal,
        );
        downloadedBytes += copied;
        await out.close();
        await writeJournal(dir, journal);
        const sha256 = hash.hex();
        const rel = relativeTo(source.path, f.path, source.format);
        const manifest = opts.sha256?.[rel] ?? opts.sha256?.[f.path];
        const announced = opened.storage instanceof HttpStorage ? opened.storage.announcedSha256(f.path) : undefined;
        const want = manifest ?? announced;
        if (want !== undefined && want.toLowerCase() !== sha256) {
          delete journal.files[f.path];
          await writeJournal(dir, journal);
          const says = manifest !== undefined ? "the manifest says" : "the server announced";
          throw new IntegrityError("E_CHECKSUM", `SHA-256 is ${sha256}, ${says} ${want}`, { path: f.path });
        }
        if (want !== undefined) checked.set(f.path, manifest !== undefined ? "manifest" : "server");
        cached.push({ path: f.path, size: f.size, sha256, blocks: entry.blocks });
        progress.fileDone(f.path);
      } catch (e) {
        await out.close().catch(() => {});
        throw e;
      } finally {
        await from.close();
      }
    }

    // The copy must read as the checkpoint it is: every zip record's CRC-32, every header and layout.
    const report = await verify({ storage: await cache.dataStorage(key), path: source.path }, { deep: true });
    if (!report.ok) {
      const p = report.problems[0];
      throw new IntegrityError("E_BAD_CRC", `the cached copy fails verification: ${p.message}`, {
        path: p.path,
        offset: p.offset,
      });
    }
    const record: CacheRecord = {
      version: 1,
      key,
      origin: OpfsCache.locationOf(input).storage.description,
      path: source.path,
      format: source.format,
      blockBytes,
      files: cached,
      bytes,
      include: opts.include,
      exclude: opts.exclude,
      committedAt: new Date().toISOString(),
    };
    await cache.commit(record);
    await dir.removeEntry(JOURNAL_NAME).catch(() => {});
    return {
      key,
      alreadyCached: false,
      files: cached.map(({ path, size, sha256 }) => ({ path, size, sha256, checkedAgainst: checked.get(path) })),
      bytes,
      resumedBytes,
      downloadedBytes,
      resumeGranularity: granularity,
      persisted,
      quota,
    };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof WebdcpError) throw error;
    throw cacheError(error, `${cache.folder}/data/${key}`);
  } finally {
    view.drop();
    await source.close();
  }
}

/**
 * Keeps the stored blocks whose SHA-256 the journal holds (in order, up to the first that differs or is
 * missing), feeding them to `hash`, and cuts the file after them. Returns the bytes kept.
 */
async function checkStored(
  out: CacheFile,
  entry: { size: number; blocks: string[] },
  blockBytes: number,
  hash: Sha256,
) {
  const size = await out.size();
  let kept = 0;
  let good = 0;
  const block = new Uint8Array(blockBytes);
  for (const digest of entry.blocks) {
    const length = Math.min(blockBytes, entry.size - kept);
    if (kept + length > size) break;
    const bytes = block.subarray(0, length);
    await out.read(kept, bytes);
    if (await blockDigest(bytes) !== digest) break;
    hash.update(bytes);
    kept += length;
    good++;
  }
  entry.blocks.length = good;
  if (size !== kept) await out.truncate(kept);
  return kept;
}

/** Copies `[from, size)` block by block, the next block's request in flight while one is written. */
async function copyRest(
  source: ByteSource,
  out: CacheFile,
  size: number,
  start: number,
  blockBytes: number,
  entry: { blocks: string[] },
  hash: Sha256,
  blockStored: () => Promise<void>,
  progress: (bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  const fetchBlock = async (offset: number) => {
    const bytes = new Uint8Array(Math.min(blockBytes, size - offset));
    await source.readInto!(offset, bytes);
    return bytes;
  };
  let next = start < size ? fetchBlock(start) : undefined;
  let copied = 0;
  for (let offset = start; offset < size; offset += blockBytes) {
    const bytes = await next!;
    signal?.throwIfAborted();
    next = offset + blockBytes < size ? fetchBlock(offset + blockBytes) : undefined;
    next?.catch(() => {}); // surfaced when awaited
    await out.write(offset, bytes);
    hash.update(bytes);
    entry.blocks.push(await blockDigest(bytes));
    // The journal lists only blocks a killed tab keeps.
    if (await out.flush()) await blockStored();
    copied += bytes.byteLength;
    progress(bytes.byteLength);
  }
  return copied;
}

async function fileHandle(dir: FileSystemDirectoryHandle, path: string): Promise<FileSystemFileHandle> {
  const segments = normalizePath(path).split("/");
  for (const s of segments.slice(0, -1)) dir = await dir.getDirectoryHandle(s, { create: true });
  return await dir.getFileHandle(segments[segments.length - 1], { create: true });
}

async function readJournal(dir: FileSystemDirectoryHandle, key: string, blockBytes: number): Promise<Journal> {
  const fresh: Journal = { version: 1, key, blockBytes, files: {} };
  try {
    const text = await (await (await dir.getFileHandle(JOURNAL_NAME)).getFile()).text();
    const j = JSON.parse(text) as Journal;
    return j.version === 1 && j.key === key && j.blockBytes === blockBytes && typeof j.files === "object" ? j : fresh;
  } catch {
    // No journal, or one cut short by a kill: nothing stored is trusted.
    return fresh;
  }
}

async function writeJournal(dir: FileSystemDirectoryHandle, journal: Journal): Promise<void> {
  const handle = await dir.getFileHandle(JOURNAL_NAME, { create: true });
  const w = await whenUnlocked(() => handle.createWritable());
  await w.write(JSON.stringify(journal));
  await w.close();
}

/** A file's path relative to the checkpoint's folder (how manifests name files). */
function relativeTo(root: string, path: string, format: string): string {
  const dir = format === "dcp" || format === "hf" ? root : root.slice(0, root.lastIndexOf("/") + 1);
  const prefix = dir === "" ? "" : dir.replace(/\/?$/, "/");
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
