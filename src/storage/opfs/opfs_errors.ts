import { StorageError } from "../../errors/mod.ts";

/** The DOMException name of an error thrown by the File System API, if it is one. */
export function domName(e: unknown): string | undefined {
  const name = (e as { name?: unknown })?.name;
  return typeof name === "string" ? name : undefined;
}

export function isMissing(e: unknown): boolean {
  const name = domName(e);
  return name === "NotFoundError" || name === "TypeMismatchError";
}

/** Maps a File System API failure without a more specific meaning at its call site to a StorageError. */
export function opfsError(e: unknown, path: string, offset?: number): StorageError {
  const name = domName(e);
  const message = (e as Error)?.message ?? String(e);
  if (name === "NotFoundError") return new StorageError("E_NOT_FOUND", "no such file or folder", { path, cause: e });
  if (name === "TypeMismatchError") {
    return new StorageError("E_NOT_FOUND", "a file is where a folder was expected, or the reverse", { path, cause: e });
  }
  if (name === "NotReadableError") {
    // OPFS invalidates a File snapshot once its entry is written or replaced.
    return new StorageError("E_IO", `file changed or vanished since it was opened: ${message}`, {
      path,
      offset,
      cause: e,
    });
  }
  if (name === "QuotaExceededError") {
    return new StorageError("E_IO", `origin storage quota exceeded: ${message}`, { path, offset, cause: e });
  }
  if (name === "NoModificationAllowedError") {
    return new StorageError("E_IO", `in use by an open writer or sync access handle: ${message}`, {
      path,
      offset,
      cause: e,
    });
  }
  return new StorageError("E_IO", `${name ?? "OPFS error"}: ${message}`, { path, offset, cause: e });
}
