/**
 * `LocalFs` over `node:fs/promises`, for Node (and any runtime without Deno's namespace), imported only by
 * `localFs()` on first use: browsers have no node:fs, and a static import would keep `mod.ts` (which
 * exports `FileStorage`) from loading in a browser page at all.
 */
import type { FileHandle } from "node:fs/promises";
import type { LocalFs, LocalStat, ReadHandle } from "./local_fs.ts";
import type { SinkFile } from "./sink_file.ts";

type Stats = { isFile(): boolean; isDirectory(): boolean; isFIFO(): boolean; size: number; dev: number; ino: number };

const localStat = (s: Stats): LocalStat => ({
  isFile: s.isFile(),
  isDirectory: s.isDirectory(),
  isFifo: s.isFIFO(),
  size: s.size,
  dev: s.dev,
  ino: s.ino,
});

export async function nodeFs(): Promise<LocalFs> {
  const fs = await import("node:fs/promises");
  return {
    stat: async (path) => localStat(await fs.stat(path)),
    realPath: (path) => fs.realpath(path),
    async openRead(path): Promise<ReadHandle> {
      // Non-blocking in case the path was swapped for a FIFO since it was checked; no effect on regular files.
      const handle = await fs.open(path, (fs.constants?.O_RDONLY ?? 0) | (fs.constants?.O_NONBLOCK ?? 0));
      return {
        read: async (into, position) => (await handle.read(into, 0, into.byteLength, position)).bytesRead,
        stat: async () => localStat(await handle.stat()),
        close: () => handle.close(),
      };
    },
    async createNew(path): Promise<SinkFile> {
      const handle = await fs.open(path, "wx");
      let flusher: Promise<FileHandle> | undefined;
      return {
        write: async (bytes, position) => (await handle.write(bytes, 0, bytes.byteLength, position)).bytesWritten,
        flush: async () => await (await (flusher ??= fs.open(path, "r"))).datasync(),
        sync: () => handle.sync(),
        close: async () => {
          await handle.close();
          await (await flusher?.catch(() => undefined))?.close();
        },
      };
    },
    readDir: async (path) =>
      (await fs.readdir(path, { withFileTypes: true })).map((d) => ({
        name: d.name,
        isFile: d.isFile(),
        isDirectory: d.isDirectory(),
        isSymlink: d.isSymbolicLink(),
      })),
    makeDirs: async (path) => void await fs.mkdir(path, { recursive: true }),
    rename: (from, to) => fs.rename(from, to),
    unlink: (path) => fs.unlink(path),
    removeDir: (path, recursive) => recursive ? fs.rm(path, { recursive: true }) : fs.rmdir(path),
  };
}
