import * as z from "../schema/mod.ts";
import { joinPath, pathFromFile } from "../storage/mod.ts";
import type { ByteSink, ByteSource, DirEntry, FileInfo, Storage } from "../storage/mod.ts";
import { runLimited } from "../tasks/mod.ts";
import { crc32 } from "../zip/mod.ts";
import { invariant } from "../errors/mod.ts";
import type { Location } from "../source/mod.ts";
import type { Part } from "./part.ts";

/**
 * What a `--part` run wrote, for `finalize` to check before it commits: every file with its size, the CRC-32
 * of all its bytes as the writer sent them (`ChecksummingStorage`: no read-back), and the version the storage
 * gave the stored file when it has one (S3: the ETag). Written after the files and before the part's
 * manifest, so a manifest always has its list.
 */
export interface PartFile {
  /** Name relative to the output folder. */
  file: string;
  size: number;
  crc32: number;
  /** `FileInfo.version` of the file right after the part closed it. */
  version?: string;
}

const PartFiles = z.lazySchema(() =>
  z.object({
    files: z.array(
      z.object({
        file: z.string(),
        size: z.number().check(z.int(), z.minimum(0)),
        crc32: z.number().check(z.int(), z.minimum(0), z.maximum(0xffffffff)),
        version: z.optional(z.string()),
      }),
    ),
  })
);

/** Bytes read at a time to checksum copied ranges and, in `finalize`, files whose version is unknown. */
const CHUNK = 16 << 20;
/** Files checked at once by `finalize`. */
const CHECK_AT_ONCE = 4;

/**
 * A view of a storage that keeps the size and CRC-32 of every file written through it, computed from the bytes
 * on their way to the sink (ranges a sink copies without them passing through are read back from their source
 * to be checksummed). What a part records for `finalize`.
 */
export class ChecksummingStorage implements Storage {
  readonly description: string;
  /** Size and CRC-32 of each file closed through this view, by path. */
  readonly written = new Map<string, { size: number; crc32: number }>();
  readonly #inner: Storage;

  constructor(inner: Storage) {
    this.#inner = inner;
    this.description = inner.description;
  }

  stat(path: string): Promise<FileInfo | undefined> {
    return this.#inner.stat(path);
  }
  open(path: string): Promise<ByteSource> {
    return this.#inner.open(path);
  }
  read(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#inner.read(path, offset, length);
  }
  readAll(path: string): Promise<Uint8Array> {
    return this.#inner.readAll(path);
  }
  list(dir: string): Promise<DirEntry[] | undefined> {
    return this.#inner.list(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.#inner.rename(from, to);
  }
  remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.#inner.remove(path, options);
  }
  canCopyFrom(source: Storage): boolean {
    return this.#inner.canCopyFrom?.(source) ?? false;
  }
  async removeTemps(dir: string): Promise<void> {
    await this.#inner.removeTemps?.(dir);
  }
  async writeAll(path: string, bytes: Uint8Array): Promise<void> {
    await this.#inner.writeAll(path, bytes);
    this.written.set(path, { size: bytes.byteLength, crc32: crc32(bytes) });
  }

  async create(path: string): Promise<ByteSink> {
    const sink = await this.#inner.create(path);
    let crc = 0;
    const done = (): void => void this.written.set(path, { size: sink.position, crc32: crc });
    const view: ByteSink = {
      path: sink.path,
      get position() {
        return sink.position;
      },
      async write(bytes) {
        crc = crc32(bytes, crc);
        await sink.write(bytes);
      },
      async close() {
        await sink.close();
        done();
      },
      abort: () => sink.abort(),
    };
    if (sink.copyFrom) {
      const copyFrom = sink.copyFrom.bind(sink);
      view.copyFrom = async (from, offset, length) => {
        if (!(await copyFrom(from, offset, length))) return false;
        for (let at = 0; at < length; at += CHUNK) {
          crc = crc32(await from.read(offset + at, Math.min(CHUNK, length - at)), crc);
        }
        return true;
      };
    }
    return view;
  }
}

export function partFilesName(part: Part): string {
  return `.webdcp-part-${part.index}-of-${part.count}.files.json`;
}

/**
 * Records `files` (paths in `dst.storage`, inside `dst.path`, written through `sums`) as this part's output,
 * each with the storage's version of it.
 */
export async function recordPartFiles(
  dst: Location,
  part: Part,
  files: readonly string[],
  sums: ChecksummingStorage,
): Promise<string> {
  const out: PartFile[] = [];
  for (const path of files) {
    const sum = sums.written.get(path);
    invariant(sum !== undefined, `${path} was written through the checksumming view`);
    const version = (await dst.storage.stat(path))?.version;
    out.push({ file: relative(dst, path), ...sum, ...(version === undefined ? {} : { version }) });
  }
  const listPath = joinPath(dst.path, partFilesName(part));
  await dst.storage.writeAll(listPath, new TextEncoder().encode(JSON.stringify({ files: out }, null, 1)));
  return listPath;
}

/**
 * Why the part's output is not complete (its list missing or unreadable, a file missing, of another size or
 * with other bytes), or undefined. A file the storage still gives the recorded version (S3: the same ETag,
 * one HEAD) is the object the part closed; any other is read whole and must have the recorded CRC-32.
 */
export async function checkPartFiles(dst: Location, part: Part): Promise<string | undefined> {
  const listPath = joinPath(dst.path, partFilesName(part));
  if (!(await dst.storage.stat(listPath))) return `no ${partFilesName(part)}: the part did not finish`;
  let list: z.infer<ReturnType<typeof PartFiles>>;
  try {
    list = PartFiles().parse(JSON.parse(new TextDecoder().decode(await dst.storage.readAll(listPath))));
  } catch {
    return `${partFilesName(part)} is malformed`;
  }
  const problems = await runLimited(
    list.files.map((f) => async (): Promise<string | undefined> => {
      const path = joinPath(dst.path, pathFromFile(f.file, listPath, "the part's file list names"));
      const info = await dst.storage.stat(path);
      if (!info) return `${f.file} is missing`;
      if (info.size !== f.size) return `${f.file} has ${info.size} bytes, the part wrote ${f.size}`;
      if (f.version !== undefined && info.version === f.version) return undefined;
      if ((await crc32Of(dst.storage, path)) !== f.crc32) {
        return `${f.file} is not the file the part wrote (its CRC-32 differs)`;
      }
      return undefined;
    }),
    CHECK_AT_ONCE,
  );
  return problems.find((p) => p !== undefined);
}

async function crc32Of(storage: Storage, path: string): Promise<number> {
  const source = await storage.open(path);
  try {
    let crc = 0;
    for (let at = 0; at < source.size; at += CHUNK) {
      crc = crc32(await source.read(at, Math.min(CHUNK, source.size - at)), crc);
    }
    return crc;
  } finally {
    await source.close();
  }
}

function relative(dst: Location, path: string): string {
  return dst.path === "" ? path : path.slice(dst.path.length + 1);
}
