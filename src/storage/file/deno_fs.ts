/**
 * `LocalFs` over Deno's own namespace (declared here: the package's types are built without Deno's). Deno's
 * files read and write where their cursor is, so each handle moves it only when a call does not start
 * there, and a handle's reads take turns (a seek and a read are two calls), its close after them. Deno's
 * async file calls run off the JS thread, where node:fs's run on it under Deno, so computation overlaps them.
 */
import type { LocalDirEntry, LocalFs, LocalStat, ReadHandle } from "./local_fs.ts";
import type { SinkFile } from "./sink_file.ts";

interface DenoFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isFifo: boolean | null;
  size: number;
  dev: number;
  ino: number | null;
}

interface DenoFile {
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  seek(offset: number, whence: 0): Promise<number>;
  stat(): Promise<DenoFileInfo>;
  sync(): Promise<void>;
  syncData(): Promise<void>;
  close(): void;
}

/** The part of Deno's namespace this file uses. */
export interface DenoHost {
  open(path: string, options: { read?: boolean; write?: boolean; createNew?: boolean }): Promise<DenoFile>;
  stat(path: string): Promise<DenoFileInfo>;
  realPath(path: string): Promise<string>;
  readDir(path: string): AsyncIterable<LocalDirEntry>;
  mkdir(path: string, options: { recursive: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string, options?: { recursive: boolean }): Promise<void>;
}

const localStat = (s: DenoFileInfo): LocalStat => ({
  isFile: s.isFile,
  isDirectory: s.isDirectory,
  isFifo: s.isFifo === true,
  size: s.size,
  dev: s.dev,
  ino: s.ino,
});

/** Closes a Deno file: synchronous there, and throwing on a second close, which the promise turns into a rejection. */
const closeFile = (file: DenoFile) => new Promise<void>((resolve) => resolve(file.close()));

export function denoFs(deno: DenoHost): LocalFs {
  return {
    stat: async (path) => localStat(await deno.stat(path)),
    realPath: (path) => deno.realPath(path),
    async openRead(path): Promise<ReadHandle> {
      // Deno's open takes no O_NONBLOCK: a path swapped for a FIFO between FileStorage's check and this open
      // leaves the open waiting for a writer (on Deno's blocking pool, not the JS thread); Node's does not.
      const file = await deno.open(path, { read: true });
      let cursor = 0;
      let turn: Promise<unknown> = Promise.resolve();
      return {
        read(into, position) {
          const read = turn.then(async () => {
            if (position !== cursor) cursor = await file.seek(position, 0);
            const n = (await file.read(into)) ?? 0;
            cursor += n;
            return n;
          });
          turn = read.catch(() => {});
          return read;
        },
        stat: async () => localStat(await file.stat()),
        // After the reads already asked for, as node:fs's close waits for them: closing a Deno file under
        // a read fails that read (Bad resource, Interrupted).
        close: () => turn.then(() => closeFile(file)),
      };
    },
    async createNew(path): Promise<SinkFile> {
      const file = await deno.open(path, { write: true, createNew: true });
      let flusher: Promise<DenoFile> | undefined;
      let cursor = 0;
      return {
        // The sink writes one call at a time; after a range the kernel copied into the file behind the
        // handle's back, a write does not start at the cursor.
        write: async (bytes, position) => {
          if (position !== cursor) cursor = await file.seek(position, 0);
          const n = await file.write(bytes);
          cursor += n;
          return n;
        },
        flush: async () => await (await (flusher ??= deno.open(path, { read: true }))).syncData(),
        sync: () => file.sync(),
        close: async () => {
          await closeFile(file);
          const other = await flusher?.catch(() => undefined);
          if (other) await closeFile(other);
        },
      };
    },
    async readDir(path) {
      const entries: LocalDirEntry[] = [];
      for await (const d of deno.readDir(path)) {
        entries.push({ name: d.name, isFile: d.isFile, isDirectory: d.isDirectory, isSymlink: d.isSymlink });
      }
      return entries;
    },
    makeDirs: (path) => deno.mkdir(path, { recursive: true }),
    rename: (from, to) => deno.rename(from, to),
    unlink: (path) => deno.remove(path),
    removeDir: (path, recursive) => deno.remove(path, { recursive }),
  };
}
