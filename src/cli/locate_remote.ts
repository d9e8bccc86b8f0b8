/**
 * Command-line locations that are URLs: `s3://bucket/prefix` (read and write, credentials and endpoint from
 * the standard AWS environment) and `http(s)://` (read-only). A URL names a file when the object exists,
 * else a folder (a key prefix); an output's file or folder is told by the command, as for local paths.
 */
import { UsageError } from "../errors/mod.ts";
import { HttpStorage, S3Storage } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import type { Location } from "../source/mod.ts";
import { onStopSignal } from "./stop_signals.ts";

export async function locateRemoteInput(url: string): Promise<Location> {
  const { parent, name } = splitLast(url);
  if (name !== "") {
    const inParent = open(parent);
    if (await inParent.stat(name)) return { storage: inParent, path: name };
  }
  return { storage: open(url), path: "" };
}

export function locateRemoteOutput(url: string, isFile: boolean, input: string): Location {
  if (!/^s3:\/\//i.test(url)) {
    throw new UsageError("E_USAGE", "http(s):// locations are read-only; write to s3:// or a local path", {
      path: url,
    });
  }
  if (trimSlash(url) === trimSlash(input)) {
    throw new UsageError("E_USAGE", "the output is the input: its files would be replaced while being read", {
      path: url,
    });
  }
  const { parent, name } = splitLast(url);
  if (isFile && name === "") {
    throw new UsageError("E_USAGE", "a single-file output needs a file name after the bucket", { path: url });
  }
  const storage = S3Storage.fromUrl(isFile ? parent : url);
  abortWritesOnSignals(storage);
  return { storage, path: isFile ? name : "" };
}

/** A job stopped by a signal first aborts the uploads it has open, so it leaves no stored parts in the bucket. */
function abortWritesOnSignals(storage: S3Storage): void {
  onStopSignal(() => storage.abortOpenWrites());
}

function open(url: string): Storage {
  return /^s3:\/\//i.test(url) ? S3Storage.fromUrl(url) : new HttpStorage(url);
}

/** `scheme://host/a/b` as `scheme://host/a/` and `b`; the name is "" when the URL ends at the bucket or host. */
function splitLast(url: string): { parent: string; name: string } {
  const m = /^([a-z0-9]+:\/\/[^/]+\/(?:.*\/)?)([^/]*)$/i.exec(trimSlash(url));
  return m ? { parent: m[1], name: m[2] } : { parent: `${trimSlash(url)}/`, name: "" };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
