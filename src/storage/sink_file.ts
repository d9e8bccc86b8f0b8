import { nodeFs } from "./node_fs.ts";

/** The calls a file sink makes on its temp file: sequential writes, then sync and close. */
export interface SinkFile {
  /** Writes some of `bytes` at the current end; resolves to how many. */
  write(bytes: Uint8Array): Promise<number>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

type DenoFile = { write(bytes: Uint8Array): Promise<number>; sync(): Promise<void>; close(): void };
type DenoFs = { open(path: string, options: { write: boolean }): Promise<DenoFile> };

/**
 * Creates `path` (failing if it exists, with node:fs's error codes) for sequential writes. Under Deno the
 * writes then go through Deno's own file: its async writes run off the JS thread, whereas node:fs writes
 * run on it there, so no computation could overlap them. Node keeps the node:fs handle (libuv's pool).
 */
export async function createSinkFile(path: string): Promise<SinkFile> {
  const fs = await nodeFs();
  const handle = await fs.open(path, "wx");
  const deno = (globalThis as { Deno?: Partial<DenoFs> }).Deno;
  if (typeof deno?.open !== "function") {
    return {
      write: async (bytes) => (await handle.write(bytes, 0, bytes.byteLength)).bytesWritten,
      sync: () => handle.sync(),
      close: () => handle.close(),
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
  return {
    write: (bytes) => file.write(bytes),
    sync: () => file.sync(),
    // Deno closes synchronously and throws on a second close; the executor turns that into a rejection.
    close: () => new Promise<void>((resolve) => resolve(file.close())),
  };
}
