import { StorageError } from "../errors/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { SAFETENSORS_INDEX_NAME, SINGLE_FILE_NAME } from "../safetensors/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { isLegacyTorchHead, LEGACY_HEAD_BYTES } from "../torch/mod.ts";
import { openDcpSource } from "./source_dcp.ts";
import { openHfFolderSource, openSafetensorsFileSource } from "./source_safetensors.ts";
import { openTorchFileSource } from "./source_torch.ts";
import type { SourceFormat, TensorSource } from "./tensor_source.ts";

/**
 * Which format `path` holds: a folder with `.metadata` (or rank-local `__<r>.metadata`) is DCP, one with an
 * index or `*.safetensors` files is HF; a file is told by its extension, else by its first bytes (a zip or
 * a legacy torch.save pickle is torch.save, anything else is tried as safetensors).
 */
export async function detectFormat(storage: Storage, path: string): Promise<SourceFormat> {
  const info = await storage.stat(path);
  if (info) {
    if (/\.safetensors$/i.test(path)) return "safetensors";
    if (/\.(pt|pth|bin|ckpt)$/i.test(path)) return "torch";
    const head = await storage.read(path, 0, Math.min(LEGACY_HEAD_BYTES, info.size));
    const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
    return zip || isLegacyTorchHead(head) ? "torch" : "safetensors";
  }
  const listing = await storage.list(path);
  const names = listing
    ? new Set(listing.filter((e) => e.kind === "file").map((e) => e.name))
    : await knownNames(storage, path);
  if (names.size === 0 && !listing) throw new StorageError("E_NOT_FOUND", "no such file or folder", { path: path || "." });
  if (names.has(".metadata") || [...names].some((n) => /^__\d+\.metadata$/.test(n))) return "dcp";
  if (names.has(SAFETENSORS_INDEX_NAME) || [...names].some((n) => n.endsWith(".safetensors"))) return "hf";
  throw new StorageError("E_NOT_FOUND", "folder holds neither a DCP checkpoint (.metadata) nor safetensors files", {
    path: path || ".",
  });
}

/**
 * For storages that cannot list a folder (HTTP): which of the files that name a checkpoint's layout exist.
 * A missing folder and an unknown one look the same there.
 */
async function knownNames(storage: Storage, dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const name of [".metadata", SAFETENSORS_INDEX_NAME, SINGLE_FILE_NAME]) {
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
  const limits = opts.limits;
  switch (await detectFormat(storage, path)) {
    case "dcp":
      return await openDcpSource(storage, path, limits);
    case "hf":
      return await openHfFolderSource(storage, path, limits);
    case "safetensors":
      return await openSafetensorsFileSource(storage, path, limits);
    case "torch":
      return await openTorchFileSource(storage, path, limits);
  }
}
