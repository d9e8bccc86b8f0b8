import { StorageError } from "../errors/mod.ts";
import { opfsError } from "../storage/opfs/mod.ts";

/**
 * A cached file being filled in place, continuing a partial one. In a dedicated Worker it is a sync access
 * handle: every flushed block is on disk, so a killed tab resumes from the last flushed block. On the main
 * thread only the async API exists, whose writable publishes on close and copies the file's bytes when
 * reopened (`keepExistingData`): there a flush commits (close, reopen) each time the bytes written since the
 * last commit reach those committed before it (and at least `minSpan`), so the copies cost at most
 * about twice the file and a killed tab keeps at least half of what it had written.
 */
export interface CacheFile {
  /** Bytes in the file now. */
  size(): Promise<number>;
  read(offset: number, into: Uint8Array): Promise<void>;
  write(offset: number, bytes: Uint8Array): Promise<void>;
  truncate(size: number): Promise<void>;
  /**
   * Makes the writes so far survive a killed tab where that is cheap enough now; resolves true when they
   * do (every time in a Worker, at each commit on the main thread).
   */
  flush(): Promise<boolean>;
  close(): Promise<void>;
  /** Whether every flush is durable (a Worker's sync access handle). */
  readonly blockDurable: boolean;
}

type SyncHandle = {
  getSize(): number;
  read(into: Uint8Array, opts: { at: number }): number;
  write(bytes: Uint8Array, opts: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
};

type Writable = FileSystemWritableFileStream;

/** Whether this global scope is a dedicated Worker (sync access handles exist only there). */
function inWorker(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; document?: unknown };
  return g.WorkerGlobalScope !== undefined && g.document === undefined;
}

/**
 * Runs `open` again while the file is locked (NoModificationAllowedError): the sync access handle of a
 * worker that was just terminated, or a tab just closed, is released shortly after, not at once.
 */
export async function whenUnlocked<T>(open: () => Promise<T>, waitMs = 3000): Promise<T> {
  for (let waited = 0;; waited += 100) {
    try {
      return await open();
    } catch (e) {
      if ((e as { name?: string })?.name !== "NoModificationAllowedError" || waited >= waitMs) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Opens a cached file for filling; `minSpan` is the least a main-thread commit covers (each copies the file). */
export async function openCacheFile(handle: FileSystemFileHandle, path: string, minSpan: number): Promise<CacheFile> {
  const sync = (handle as unknown as { createSyncAccessHandle?: () => Promise<SyncHandle> }).createSyncAccessHandle;
  const wrap = async <T>(offset: number | undefined, body: () => T | Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (e) {
      throw cacheError(e, path, offset);
    }
  };
  if (inWorker() && typeof sync === "function") {
    const h = await wrap(undefined, () => whenUnlocked(() => sync.call(handle)));
    return {
      blockDurable: true,
      size: () => wrap(undefined, () => h.getSize()),
      read: (offset, into) =>
        wrap(offset, () => {
          const n = h.read(into, { at: offset });
          if (n !== into.byteLength) {
            throw new StorageError("E_TRUNCATED", `read ${n} of ${into.byteLength} bytes`, { path, offset });
          }
        }),
      write: (offset, bytes) =>
        wrap(offset, () => {
          const n = h.write(bytes, { at: offset });
          if (n !== bytes.byteLength) {
            throw new StorageError("E_IO", `wrote ${n} of ${bytes.byteLength} bytes`, { path, offset });
          }
        }),
      truncate: (size) => wrap(size, () => h.truncate(size)),
      flush: () => wrap(undefined, () => (h.flush(), true)),
      close: () => wrap(undefined, () => h.close()),
    };
  }
  const file = await wrap(undefined, () => handle.getFile());
  let stream: Writable | undefined = await wrap(
    undefined,
    () => whenUnlocked(() => handle.createWritable({ keepExistingData: true })),
  );
  let size = file.size;
  let committed = size;
  const live = (): Writable => {
    if (stream === undefined) throw new StorageError("E_IO", "cache file already closed", { path });
    return stream;
  };
  return {
    blockDurable: false,
    size: () => Promise.resolve(size),
    read: (offset, into) =>
      wrap(offset, async () => {
        // The writable's bytes are not readable before close; what is read here is the file as opened.
        const bytes = new Uint8Array(await file.slice(offset, offset + into.byteLength).arrayBuffer());
        if (bytes.byteLength !== into.byteLength) {
          throw new StorageError("E_TRUNCATED", `read ${bytes.byteLength} of ${into.byteLength} bytes`, {
            path,
            offset,
          });
        }
        into.set(bytes);
      }),
    write: (offset, bytes) =>
      wrap(offset, async () => {
        await live().write({ type: "write", position: offset, data: bytes as Uint8Array<ArrayBuffer> });
        size = Math.max(size, offset + bytes.byteLength);
      }),
    truncate: (n) =>
      wrap(n, async () => {
        await live().truncate(n);
        size = n;
      }),
    flush: () =>
      wrap(undefined, async () => {
        if (size - committed < Math.max(committed, minSpan)) return false;
        const s = live();
        stream = undefined;
        await s.close();
        stream = await whenUnlocked(() => handle.createWritable({ keepExistingData: true }));
        committed = size;
        return true;
      }),
    close: () =>
      wrap(undefined, async () => {
        const s = stream;
        stream = undefined;
        await s?.close();
      }),
  };
}

/** A File System API failure as a typed error; running out of quota is E_QUOTA. */
export function cacheError(e: unknown, path: string, offset?: number): Error {
  if (e instanceof StorageError) return e;
  const name = (e as { name?: string })?.name;
  if (name === "QuotaExceededError") {
    return new StorageError("E_QUOTA", `the origin's storage quota is exhausted: ${(e as Error).message}`, {
      path,
      offset,
      cause: e,
    });
  }
  return opfsError(e, path, offset);
}
