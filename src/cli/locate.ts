/** Turns command-line paths into a storage root plus a path inside it (the job APIs' `Location`). */
import * as fs from "node:fs/promises";
import * as nodePath from "node:path";
import { StorageError, UsageError } from "../errors/mod.ts";
import { FileStorage } from "../storage/file/mod.ts";
import type { Location } from "../source/mod.ts";
import { isRemote, locateRemoteInput, locateRemoteOutput } from "./locate_remote.ts";

/**
 * An existing file or folder: folders become the storage root, files live in their parent folder. The path
 * the user typed is followed through links (their choice); links inside the checkpoint that lead outside
 * it are refused unless `followSymlinks` (`--follow-symlinks`). `s3://` and `http(s)://` paths are remote.
 */
export async function locateInput(
  path: string,
  cwd: string,
  opts: { followSymlinks?: boolean } = {},
): Promise<Location> {
  if (isRemote(path)) return await locateRemoteInput(path);
  let abs = nodePath.resolve(cwd, path);
  let stat;
  try {
    abs = await fs.realpath(abs);
    stat = await fs.stat(abs);
  } catch {
    throw new StorageError("E_NOT_FOUND", "no such file or folder", { path });
  }
  const followSymlinks = opts.followSymlinks ?? false;
  if (stat.isDirectory()) return { storage: new FileStorage(abs, { followSymlinks }), path: "" };
  return { storage: new FileStorage(nodePath.dirname(abs), { followSymlinks }), path: nodePath.basename(abs) };
}

/**
 * An output: a single file (`.safetensors`, `.pt`) lives in its parent folder, anything else is a folder root.
 * `fsync: false` (`--no-fsync`) publishes files without waiting for the device. An output that is `input`
 * itself (symbolic links followed) is refused: its files would be replaced while they are being read.
 */
export async function locateOutput(
  path: string,
  cwd: string,
  isFile: boolean,
  opts: { fsync?: boolean; input: string },
): Promise<Location> {
  if (isRemote(path)) return locateRemoteOutput(path, isFile, opts.input);
  const abs = nodePath.resolve(cwd, path);
  if (await realPath(abs) === await realPath(nodePath.resolve(cwd, opts.input))) {
    throw new UsageError("E_USAGE", "the output is the input: its files would be replaced while being read", {
      path,
    });
  }
  const root = isFile ? nodePath.dirname(abs) : abs;
  await fs.mkdir(root, { recursive: true });
  return { storage: new FileStorage(root, { fsync: opts.fsync }), path: isFile ? nodePath.basename(abs) : "" };
}

/** Where a path leads with symbolic links followed; the path itself when it does not exist yet. */
async function realPath(abs: string): Promise<string> {
  try {
    return await fs.realpath(abs);
  } catch {
    return abs;
  }
}
