/**
 * Direct writes (Linux `O_DIRECT`) for a file written front to back: the bytes go from an aligned staging
 * buffer to the device, never through the page cache. A multi-GB file nobody reads back at once (a seed
 * checkpoint) gains nothing from the page cache, and filling it costs: on a virtual machine whose balloon
 * hands free pages back to the host, every fresh page-cache page costs a host fault (measured: `dd` of 3 GB
 * took 4.5-15 s through the page cache and 1.6 s with `oflag=direct`; bench/RESULTS.md). Only Deno can
 * open a file so (its FFI, on Linux); elsewhere, or where the file system refuses, the file is written
 * through its ordinary handle.
 */
import { invariant } from "../../errors/mod.ts";
import { type Libc, libc, nativeCopy, O_CLOEXEC, O_DIRECT, O_WRONLY } from "../../tasks/mod.ts";
import type { SinkFile } from "./sink_file.ts";

/** Offsets, lengths and addresses of direct writes are multiples of this (any device's logical block). */
const BLOCK = 4096;
/** Bytes per direct write. */
const STAGE_BYTES = 8 << 20;
/**
 * Staging buffers: one filling while the others are written, so up to three direct writes are in flight. A
 * virtual disk answers a deeper queue faster: this VM's disk took 32 GB in 17.2 s as two `dd oflag=direct` at
 * once, against 22-25 s as one (bench/RESULTS.md).
 */
const STAGES = 4;

/**
 * `file` (just created at `path`, which is `identity`) written directly where it can be: a SinkFile that
 * copies writes into staging buffers and hands each full one to the device from another thread. Writes must
 * come in order, each where the last ended (as FileSink's do when it makes no kernel copies). Any direct
 * write the kernel refuses is done again through `file`, and so is everything after it.
 */
export function directSinkFile(file: SinkFile, path: string, identity: { dev: number; ino: number | null }): SinkFile {
  const c = libc();
  const flag = c === null ? undefined : O_DIRECT[c.arch];
  if (c === null || flag === undefined) return file;
  const fd = c.open(new TextEncoder().encode(`${path}\0`), O_WRONLY | O_CLOEXEC | flag, 0);
  if (fd < 0) return file; // a file system without direct I/O (tmpfs before Linux 6.6, say)
  if (!c.isFile(fd, identity)) {
    c.close(fd); // the path names another file since it was created: write through the handle
    return file;
  }
  return new DirectFile(c, fd, file);
}

class DirectFile implements SinkFile {
  readonly #stages: Uint8Array[];
  /** The direct write of each staging buffer under way (resolved when there is none). */
  readonly #written: Promise<void>[] = Array.from({ length: STAGES }, () => Promise.resolve());
  #current = 0;
  #filled = 0;
  /** Where the current staging buffer's first byte goes in the file (a multiple of BLOCK). */
  #base = 0;
  /** Whether a direct write failed: then everything goes through the ordinary handle. */
  #buffered = false;
  #finished: Promise<void> | undefined;
  #fdOpen = true;
  /** The last write through the ordinary handle: they run one at a time (each seeks, then writes). */
  #through: Promise<unknown> = Promise.resolve();
  /** Copies into the staging buffers (the bytes written often lie in shared memory: see nativeCopy). */
  readonly #copy = nativeCopy() ?? ((into: Uint8Array, from: Uint8Array) => into.set(from));

  constructor(private readonly c: Libc, private readonly fd: number, private readonly file: SinkFile) {
    this.#stages = Array.from({ length: STAGES }, () => alignedBuffer(c));
  }

  async write(bytes: Uint8Array, position: number): Promise<number> {
    invariant(
      position === this.#base + this.#filled,
      `direct writes go front to back: ${position} after ${this.#base + this.#filled}`,
    );
    invariant(this.#finished === undefined, "no write after the file's last block");
    if (this.#buffered && this.#filled === 0) return await this.#writeThrough(bytes, position);
    const n = Math.min(bytes.byteLength, STAGE_BYTES - this.#filled);
    this.#copy(this.#stages[this.#current].subarray(this.#filled), bytes.subarray(0, n));
    this.#filled += n;
    if (this.#filled === STAGE_BYTES) {
      this.#submit(STAGE_BYTES, STAGE_BYTES);
      this.#current = (this.#current + 1) % STAGES;
      this.#base += STAGE_BYTES;
      this.#filled = 0;
      await this.#written[this.#current]; // the buffer to fill next is free again
    }
    return n;
  }

  /** Nothing to hand to the device early: direct writes are there already. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  async sync(): Promise<void> {
    await this.#finish();
    await this.file.sync();
  }

  async close(): Promise<void> {
    try {
      await this.#finish();
    } finally {
      if (this.#fdOpen) this.c.close(this.fd);
      this.#fdOpen = false;
      await this.file.close();
    }
  }

  /**
   * Writes the current staging buffer's first `length` bytes (`padded` rounded up to whole blocks, zeros
   * past `length`) at its place, directly, or through the handle after a refusal.
   */
  #submit(length: number, padded: number): void {
    const stage = this.#stages[this.#current];
    const at = this.#base;
    const index = this.#current;
    const direct = this.#buffered
      ? Promise.resolve(-1)
      : this.c.pwrite_async(this.fd, stage.subarray(0, padded), padded, BigInt(at)).then(Number);
    const written = direct.then(async (n) => {
      if (n === padded) return;
      this.#buffered = true;
      for (let done = 0; done < length;) done += await this.#writeThrough(stage.subarray(done, length), at + done);
    });
    written.catch(() => {}); // awaited before the buffer is filled again, and by #finish
    this.#written[index] = written;
  }

  /** Writes through the ordinary handle after its writes before. */
  #writeThrough(bytes: Uint8Array, position: number): Promise<number> {
    const run = this.#through.then(() => this.file.write(bytes, position));
    this.#through = run.catch(() => {});
    return run;
  }

  /** The last, partial staging buffer (padded to a block, then the file cut to its size), and every write settled. */
  #finish(): Promise<void> {
    this.#finished ??= (async () => {
      const size = this.#base + this.#filled;
      if (this.#filled > 0) {
        const padded = Math.ceil(this.#filled / BLOCK) * BLOCK;
        this.#stages[this.#current].fill(0, this.#filled, padded);
        this.#submit(this.#filled, padded);
      }
      await Promise.all(this.#written);
      await this.#through;
      if (this.c.ftruncate(this.fd, BigInt(size)) !== 0) {
        throw Object.assign(new Error(`could not set the file's size to ${size} bytes after its direct writes`), {
          code: "EIO",
        });
      }
    })();
    return this.#finished;
  }
}

/** A staging buffer whose first byte's address is a multiple of BLOCK. */
function alignedBuffer(c: Libc): Uint8Array {
  const raw = new Uint8Array(STAGE_BYTES + BLOCK);
  const skip = (BLOCK - Number(c.address(raw) % BigInt(BLOCK))) % BLOCK;
  return raw.subarray(skip, skip + STAGE_BYTES);
}
