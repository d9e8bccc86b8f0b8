import { nodeFs } from "./node_fs.ts";
import { StorageError, UsageError } from "../errors/mod.ts";
import { ioError } from "./io_error.ts";
import type { SinkFile } from "./sink_file.ts";
import type { ByteSink } from "./storage.ts";

/**
 * Writes up to this size are gathered and reach the file together: every file write is an async call with
 * a fixed cost, and a torch.save archive alone is a dozen writes of a few bytes each.
 */
const GATHER_MAX_BYTES = 64 << 10;
const GATHER_CAPACITY = 1 << 20;

export interface FileSinkOptions {
  /** fsync the file before it is published (false: as PyTorch's `sync_files=False`, no flushes either). */
  fsync: boolean;
  /**
   * The bytes written are handed to the device in the background every this many bytes (fdatasync on a
   * second descriptor, one at a time), so that the writeback overlaps the writing and `close()`'s fsync
   * finds little left to do; 0 leaves it all to `close()`. Without it, a multi-GB output piles up in the
   * page cache and is then written back while everything waits.
   */
  flushBytes: number;
}

/**
 * A file written through a temp file that is fsynced (unless told not to) and renamed into place on
 * `close()`. Large writes go
 * to the file straight from the caller's bytes (no copy): `write` resolves once the file has them, so a
 * caller overlaps its next computation with a write by preparing the next buffer while it runs (as the
 * converters' band pipelines do). Small writes are copied and gathered, and resolve at once; a failure of
 * theirs surfaces from the next `write` or from `close`. Writes reach the file in call order.
 */
export class FileSink implements ByteSink {
  readonly path: string;
  #file: SinkFile | undefined;
  #position = 0;
  /** The last file write in call order; each one starts when the previous has finished. */
  #tail: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #gather: Uint8Array | undefined;
  #gathered = 0;
  #unflushed = 0;
  #flushing: Promise<void> | undefined;
  readonly #fsync: boolean;
  readonly #flushBytes: number;
  readonly #temp: string;
  readonly #final: string;

  constructor(file: SinkFile, path: string, temp: string, final: string, opts: FileSinkOptions) {
    this.#file = file;
    this.path = path;
    this.#temp = temp;
    this.#final = final;
    this.#fsync = opts.fsync;
    this.#flushBytes = opts.fsync ? opts.flushBytes : 0;
  }

  get position(): number {
    return this.#position;
  }

  write(bytes: Uint8Array): Promise<void> {
    try {
      const file = this.#live();
      if (this.#failure) throw this.#failure.error;
      if (bytes.byteLength > GATHER_MAX_BYTES) {
        this.#queueGathered(file);
        const at = this.#position;
        this.#position += bytes.byteLength;
        return this.#queue(file, bytes, at);
      }
      if (this.#gathered + bytes.byteLength > GATHER_CAPACITY) this.#queueGathered(file);
      this.#gather ??= new Uint8Array(GATHER_CAPACITY);
      this.#gather.set(bytes, this.#gathered);
      this.#gathered += bytes.byteLength;
      this.#position += bytes.byteLength;
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async close(): Promise<void> {
    const fs = await nodeFs();
    const file = this.#live();
    try {
      this.#queueGathered(file);
      this.#file = undefined;
      await this.#tail;
      await this.#flushing;
      if (this.#failure) throw this.#failure.error;
      if (this.#fsync) await file.sync();
      await file.close();
      await fs.rename(this.#temp, this.#final);
    } catch (e) {
      this.#file = undefined;
      await file.close().catch(() => {});
      await fs.unlink(this.#temp).catch(() => {});
      throw e instanceof StorageError ? e : ioError(e, this.path);
    } finally {
      this.#gather = undefined;
    }
  }

  async abort(): Promise<void> {
    const fs = await nodeFs();
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.#gather = undefined;
    await this.#tail;
    await this.#flushing?.catch(() => {});
    await file.close().catch(() => {});
    await fs.unlink(this.#temp).catch(() => {});
  }

  /** Queues what was gathered as one write (of a copy: the gather buffer fills again at once). */
  #queueGathered(file: SinkFile): void {
    if (this.#gathered === 0) return;
    const bytes = this.#gather!.slice(0, this.#gathered);
    const at = this.#position - this.#gathered;
    this.#gathered = 0;
    this.#queue(file, bytes, at).catch(() => {}); // recorded in #failure, reported by the next call
  }

  /** Writes `bytes` after everything queued before; resolves when the file has them. */
  #queue(file: SinkFile, bytes: Uint8Array, at: number): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.#failure) throw this.#failure.error;
      try {
        await this.#writeAll(file, bytes, at);
      } catch (error) {
        this.#failure ??= { error };
        throw error;
      }
      this.#unflushed += bytes.byteLength;
      if (this.#flushBytes > 0 && this.#unflushed >= this.#flushBytes && this.#flushing === undefined) {
        this.#unflushed = 0;
        this.#flushing = file.flush().then(
          () => {
            this.#flushing = undefined;
          },
          (error) => {
            this.#failure ??= { error: ioError(error, this.path) };
          },
        );
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async #writeAll(file: SinkFile, bytes: Uint8Array, at: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      try {
        done += await file.write(bytes.subarray(done));
      } catch (e) {
        throw ioError(e, this.path, at + done);
      }
    }
  }

  #live(): SinkFile {
    if (this.#file === undefined) {
      throw new UsageError("E_USAGE", "sink already closed or aborted", { path: this.path });
    }
    return this.#file;
  }
}
