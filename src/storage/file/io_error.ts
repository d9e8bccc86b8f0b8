import { StorageError } from "../../errors/mod.ts";

/** Whether a node:fs error means the path is not there. */
export function isMissing(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** A node:fs error as a typed StorageError naming the path (and offset). */
export function ioError(e: unknown, path: string, offset?: number): StorageError {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return new StorageError("E_NOT_FOUND", "no such file or folder", { path, cause: e });
  if (code === "EEXIST") return new StorageError("E_EXISTS", "already exists", { path, cause: e });
  if (code === "ENOTDIR") return new StorageError("E_NOT_FOUND", "a parent folder is a file", { path, cause: e });
  if (code === "EISDIR") return new StorageError("E_NOT_FOUND", "is a folder, not a file", { path, cause: e });
  return new StorageError("E_IO", `${code ?? "I/O error"}: ${(e as Error)?.message ?? String(e)}`, {
    path,
    offset,
    cause: e,
  });
}
