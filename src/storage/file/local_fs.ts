/**
 * The calls FileStorage makes on the local file system, served by the runtime's own API: Deno's namespace
 * under Deno, `node:fs/promises` under Node (loaded on first use). Not node:fs under Deno too: loading
 * Deno's Node compatibility layer costs some 23 ms of CPU, more than `webdcp inspect` takes in all beyond
 * Deno's own start. Errors keep Node's codes on both (`code: "ENOENT"`, ...), which `ioError` reads.
 */
import { denoFs, type DenoHost } from "./deno_fs.ts";
import type { SinkFile } from "./sink_file.ts";

/** What FileStorage needs to know of a path. */
export interface LocalStat {
  isFile: boolean;
  isDirectory: boolean;
  isFifo: boolean;
  size: number;
  /** The device and inode: which file this is, whatever name it has now (inode null where there is none). */
  dev: number;
  ino: number | null;
}

/** One name in a folder; a symbolic link is neither a file nor a folder here. */
export interface LocalDirEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

/** A file open for reading. */
export interface ReadHandle {
  /** Reads into `into` from `position`: how many bytes it read, 0 at the end of the file. */
  read(into: Uint8Array, position: number): Promise<number>;
  stat(): Promise<LocalStat>;
  close(): Promise<void>;
}

export interface LocalFs {
  stat(path: string): Promise<LocalStat>;
  realPath(path: string): Promise<string>;
  /** Opens an existing file for reading (never blocking on a FIFO where the runtime allows: Node). */
  openRead(path: string): Promise<ReadHandle>;
  /** Creates `path`, which must not exist (EEXIST), for writing (`createSinkFile`). */
  createNew(path: string): Promise<SinkFile>;
  readDir(path: string): Promise<LocalDirEntry[]>;
  /** Creates a folder and its missing parents. */
  makeDirs(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. */
  unlink(path: string): Promise<void>;
  /** Removes an empty folder (ENOTEMPTY otherwise), or with `recursive` a folder and all it holds. */
  removeDir(path: string, recursive: boolean): Promise<void>;
}

let chosen: Promise<LocalFs> | undefined;

/** The local file system of this runtime (a browser has none: there, the Node import fails). */
export function localFs(): Promise<LocalFs> {
  chosen ??= (async () => {
    const deno = (globalThis as { Deno?: Partial<DenoHost> }).Deno;
    if (typeof deno?.open === "function" && typeof deno.realPath === "function") return denoFs(deno as DenoHost);
    return (await import("./node_fs.ts")).nodeFs();
  })();
  return chosen;
}
