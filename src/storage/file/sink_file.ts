import { nodeFs } from "./node_fs.ts";

/** The calls a file sink makes on its temp file: writes, background flushes, then sync and close. */
export interface SinkFile {
  /** Writes some of `bytes` at `position`; resolves to how many. */
  write(bytes: Uint8Array, position: number): Promise<number>;
  /**
   * Starts the device write of what was written so far and waits for it (fdatasync), through a second
   * descriptor of the same file, so that writes on the first one go on meanwhile.
   */
  flush(): Promise<void>;
  sync(): Promise<void>;
  /** Closes both descriptors. */
  close(): Promise<void>;
}

type DenoFile = {
  write(bytes: Uint8Array): Promise<number>;
  seek(offset: number, whence: 0): Promise<number>;
  sync(): Promise<void>;
  syncData(): Promise<void>;
  close(): void;
};
type DenoFs = { open(path: string, options: { write?: boolean; read?: boolean }): Promise<DenoFile> };

/**
 * Creates `path` (failing if it exists, with node:fs's error codes) for writing. Under Deno the writes then
 * go through Deno's own file: its async writes run off the JS thread, whereas node:fs writes run on it
 * there, so no computation could overlap them. Node keeps the node:fs handle (libuv's pool). Deno's file
 * writes where its cursor is, so it is moved only when a write does not start there (after a range the
 * kernel copied into the file behind its back).
 */
export async function createSinkFile(path: string): Promise<SinkFile> {
  const fs = await nodeFs();
  const handle = await fs.open(path, "wx");
  const deno = (globalThis as { Deno?: Partial<DenoFs> }).Deno;
  if (typeof deno?.open !== "function") {
    let flusher: Promise<import("node:fs/promises").FileHandle> | undefined;
    return {
      write: async (bytes, position) => (await handle.write(bytes, 0, bytes.byteLength, position)).bytesWritten,
      flush: async () => await (await (flusher ??= fs.open(path, "r"))).datasync(),
      sync: () => handle.sync(),
      close: async () => {
        await handle.close();
        await (await flusher?.catch(() => undefined))?.close();
      },
    };
  }
  await handle.close();
  let file: DenoFile;
  try {
    file = await deno.open(path, { write: true });
  } catch (e) {
    await fs.unlink(path).catch(() => {});
    throw e;
  }
  let flusher: Promise<DenoFile> | undefined;
  let cursor = 0;
  return {
    write: async (bytes, position) => {
      if (position !== cursor) cursor = await file.seek(position, 0);
      const n = await file.write(bytes);
      cursor += n;
      return n;
    },
    flush: async () => await (await (flusher ??= deno.open!(path, { read: true }))).syncData(),
    sync: () => file.sync(),
    // Deno closes synchronously and throws on a second close; the executor turns that into a rejection.
    close: async () => {
      await new Promise<void>((resolve) => resolve(file.close()));
      (await flusher?.catch(() => undefined))?.close();
    },
  };
}
