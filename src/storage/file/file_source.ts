import type { FileHandle } from "node:fs/promises";
import { StorageError, UsageError } from "../../errors/mod.ts";
import { checkReadRange } from "../byte_source.ts";
import { ioError } from "./io_error.ts";
import type { ByteSource } from "../storage.ts";

/** An open local file for random-access reads (node:fs, so Deno and Node alike). */
export class FileSource implements ByteSource {
  readonly path: string;
  readonly size: number;
  /** Where the file is on this machine, for copies the kernel makes from it. */
  readonly localPath: string;
  #handle: FileHandle | undefined;

  constructor(handle: FileHandle, path: string, size: number, localPath: string) {
    this.#handle = handle;
    this.path = path;
    this.size = size;
    this.localPath = localPath;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out);
    return out;
  }

  async readInto(offset: number, into: Uint8Array): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) throw new UsageError("E_USAGE", "read after close", { path: this.path });
    const length = into.byteLength;
    checkReadRange(this.path, this.size, offset, length);
    let filled = 0;
    while (filled < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(into, filled, length - filled, offset + filled));
      } catch (e) {
        throw ioError(e, this.path, offset + filled);
      }
      // The file shrank after open: the bytes the caller was promised no longer exist.
      if (n === 0) {
        throw new StorageError("E_OUT_OF_RANGE", "file ended early (truncated while open?)", {
          path: this.path,
          offset: offset + filled,
        });
      }
      filled += n;
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
