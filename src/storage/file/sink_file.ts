import { localFs } from "./local_fs.ts";

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

/**
 * Creates `path` (failing if it exists, with node:fs's error codes) for writing, through the runtime's own
 * files (`localFs`): under Deno its async writes run off the JS thread, whereas node:fs writes run on it
 * there, so no computation could overlap them; Node keeps node:fs (libuv's pool).
 */
export async function createSinkFile(path: string): Promise<SinkFile> {
  return await (await localFs()).createNew(path);
}
