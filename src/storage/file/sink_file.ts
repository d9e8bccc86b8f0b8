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
 * Bytes one write call hands the kernel at most. Writes of 2 MiB and more at 2 MiB-aligned file offsets ran
 * 5-10x slower than 1 MiB ones on this project's VMs (Linux 6.18, ext4, ballooned memory; 1.08 GB took
 * 1.3-3.0 s in 2 or 4 MiB writes against 0.21-0.31 s in 1 MiB ones, dd and Deno alike: bench/RESULTS.md,
 * 2026-12-06), and nowhere do larger calls gain anything measurable.
 */
const WRITE_CALL_BYTES = 1 << 20;

/**
 * Creates `path` (failing if it exists, with node:fs's error codes) for writing, through the runtime's own
 * files (`localFs`): under Deno its async writes run off the JS thread, whereas node:fs writes run on it
 * there, so no computation could overlap them; Node keeps node:fs (libuv's pool). Each write call takes at
 * most WRITE_CALL_BYTES (callers loop until all is written).
 */
export async function createSinkFile(path: string): Promise<SinkFile> {
  const file = await (await localFs()).createNew(path);
  return { ...file, write: (bytes, position) => file.write(bytes.subarray(0, WRITE_CALL_BYTES), position) };
}
