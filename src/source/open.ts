import { StorageError } from "../errors/mod.ts";
import type { Limits } from "../limits/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { formatFacts, FORMATS, HEAD_BYTES } from "./formats.ts";
import type { SourceFormat, TensorSource } from "./tensor_source.ts";

/** Which format `path` holds, told by the table of format facts (`FORMATS`). */
export async function detectFormat(storage: Storage, path: string): Promise<SourceFormat> {
  const info = await storage.stat(path);
  if (info) {
    const files = FORMATS.filter((f) => f.shape === "file");
    const named = files.find((f) => f.extension?.test(path));
    if (named) return named.format;
    const head = await storage.read(path, 0, Math.min(HEAD_BYTES, info.size));
    const sniffed = files.find((f) => f.sniff?.(head));
    return (sniffed ?? files[files.length - 1]).format;
  }
  const folders = FORMATS.filter((f) => f.shape === "folder");
  const listing = await storage.list(path);
  const names = listing
    ? new Set(listing.filter((e) => e.kind === "file").map((e) => e.name))
    : await knownNames(storage, path, folders.flatMap((f) => f.markers ?? []));
  if (names.size === 0 && !listing) {
    throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: path || "." });
  }
  const found = folders.find((f) => f.holds?.(names));
  if (found) return found.format;
  throw new StorageError("E_NOT_FOUND", "folder holds neither a DCP checkpoint (.metadata) nor safetensors files", {
    path: path || ".",
  });
}

/**
 * For storages that cannot list a folder (HTTP): which of the files that name a checkpoint's layout exist.
 * A missing folder and an unknown one look the same there.
 */
async function knownNames(storage: Storage, dir: string, markers: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const name of markers) {
    if (await storage.stat(joinPath(dir, name))) found.add(name);
  }
  return found;
}

/**
 * Opens any supported input as one read model (metadata and headers only; data is read on demand), under
 * the limits on untrusted input (`Limits`; `opts.limits` overrides some).
 */
export async function openTensorSource(
  storage: Storage,
  path: string,
  opts: { limits?: Partial<Limits> } = {},
): Promise<TensorSource> {
  return await formatFacts(await detectFormat(storage, path)).open(storage, path, opts.limits);
}
