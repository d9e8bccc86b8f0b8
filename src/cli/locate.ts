/** Turns command-line paths into a storage root plus a path inside it (the job APIs' `Location`). */
import { StorageError, UsageError } from "../errors/mod.ts";
import { FileStorage, hostBasename, hostDirname, localFs, resolveHostPath } from "../storage/file/mod.ts";
import type { Location } from "../source/mod.ts";
import { isRemote } from "./is_remote.ts";

/** S3 and HTTP(S) locations, loaded only for a URL: their storages and AWS signing are code a local path never runs. */
const remote = () => import("./locate_remote.ts");

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
  if (isRemote(path)) return await (await remote()).locateRemoteInput(path);
  const fs = await localFs();
  let abs = resolveHostPath(cwd, path);
  let stat;
  try {
    abs = await fs.realPath(abs);
    stat = await fs.stat(abs);
  } catch {
    throw new StorageError("E_NOT_FOUND", "no such file or folder", { path });
  }
  const followSymlinks = opts.followSymlinks ?? false;
  if (stat.isDirectory) return { storage: new FileStorage(abs, { followSymlinks }), path: "" };
  return { storage: new FileStorage(hostDirname(abs), { followSymlinks }), path: hostBasename(abs) };
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
  if (isRemote(path)) return (await remote()).locateRemoteOutput(path, isFile, opts.input);
  const abs = resolveHostPath(cwd, path);
  if (await realPath(abs) === await realPath(resolveHostPath(cwd, opts.input))) {
    throw new UsageError("E_USAGE", "the output is the input: its files would be replaced while being read", {
      path,
    });
  }
  const root = isFile ? hostDirname(abs) : abs;
  await (await localFs()).makeDirs(root);
  return { storage: new FileStorage(root, { fsync: opts.fsync }), path: isFile ? hostBasename(abs) : "" };
}

/** Where a path leads with symbolic links followed; the path itself when it does not exist yet. */
async function realPath(abs: string): Promise<string> {
  try {
    return await (await localFs()).realPath(abs);
  } catch {
    return abs;
  }
}
