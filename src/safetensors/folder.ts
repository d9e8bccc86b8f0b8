import { FormatError, invariant, StorageError, UsageError } from "../errors/mod.ts";
import type { Limits } from "../limits/mod.ts";
import type { ByteSource, Storage, StoredRange } from "../storage/mod.ts";
import { joinPath, pathFromFile } from "../storage/mod.ts";
import type { Box, Tensor } from "../tensor/mod.ts";
import type { SafetensorsHeader, SafetensorsTensorInfo } from "./header.ts";
import { readSafetensorsHeader } from "./header.ts";
import type { SafetensorsIndex } from "./index_file.ts";
import { readSafetensorsIndex, SAFETENSORS_INDEX_NAME } from "./index_file.ts";
import { locateSafetensorsTensor, readSafetensorsTensor } from "./read_tensor.ts";
import { SINGLE_FILE_NAME } from "./shards.ts";

/** A tensor of a folder, with the file (relative to the storage root) that holds it. */
export interface FolderTensorInfo extends SafetensorsTensorInfo {
  /** The file holding the tensor. */
  file: string;
}

/** One view over every tensor of a safetensors folder. Keep it open while reading; `close()` at the end. */
export interface SafetensorsFolder {
  /** Storage paths of the files in use, in name order. */
  files: string[];
  /** Parsed headers, by file path. */
  headers: Map<string, SafetensorsHeader>;
  /** Every tensor and the file holding it. */
  tensors: Map<string, FolderTensorInfo>;
  /** The index, when the folder has one. */
  index?: SafetensorsIndex;
  /** Reads a tensor, or a box of it, into `out` when given. */
  readTensor(name: string, box?: Box, out?: Uint8Array): Promise<Tensor>;
  /** Where a box's bytes are stored, when that is one range (see `locateSafetensorsTensor`). */
  locate(name: string, box: Box): StoredRange[] | undefined;
  /** Closes the files. */
  close(): Promise<void>;
}

/**
 * Opens a HF-style folder: through `model.safetensors.index.json` when present (only the tensors its
 * `weight_map` names; each must be in the file it names), otherwise every `*.safetensors` file at the top
 * level (a name found in two files is E_OVERLAP).
 */
export async function openSafetensorsFolder(
  storage: Storage,
  dir: string,
  opts: { limits?: Partial<Limits> } = {},
): Promise<SafetensorsFolder> {
  const indexPath = joinPath(dir, SAFETENSORS_INDEX_NAME);
  const index = (await storage.stat(indexPath)) ? await readSafetensorsIndex(storage, indexPath, opts) : undefined;
  const fileNames = index ? [...new Set(index.weightMap.values())] : await listSafetensorsFiles(storage, dir);
  // A shard path is resolved inside the checkpoint folder alone, as DCP's relative_path is, and a bad one
  // is reported against the index that holds it.
  const shardPath = (f: string) => joinPath(dir, pathFromFile(f, indexPath, "weight_map names the file"));
  const files = fileNames.map(shardPath).sort();
  const sources = new Map<string, ByteSource>();
  const headers = new Map<string, SafetensorsHeader>();
  // Every file of the folder (and every file a tensor names) is opened and its header read up front.
  const headerOf = (file: string) => {
    const header = headers.get(file);
    invariant(header, `${file} was opened with the folder`);
    return header;
  };
  const sourceOf = (file: string) => {
    const source = sources.get(file);
    invariant(source, `${file} was opened with the folder`);
    return source;
  };
  const tensors = new Map<string, FolderTensorInfo>();
  const closeAll = async () => {
    for (const s of sources.values()) await s.close();
  };
  try {
    for (const file of files) {
      const source = await storage.open(file);
      sources.set(file, source);
      headers.set(file, await readSafetensorsHeader(source, opts));
    }
    if (index) {
      for (const [name, f] of index.weightMap) {
        const file = shardPath(f);
        const info = headerOf(file).tensors.get(name);
        if (info === undefined) {
          throw new FormatError("E_MISSING_KEY", `index maps '${name}' to ${f}, which does not contain it`, {
            path: indexPath,
          });
        }
        tensors.set(name, { ...info, file });
      }
    } else {
      for (const file of files) {
        for (const [name, info] of headerOf(file).tensors) {
          const other = tensors.get(name);
          if (other) {
            throw new FormatError("E_OVERLAP", `tensor '${name}' is in both ${other.file} and ${file}`, {
              path: file,
              offset: info.begin,
            });
          }
          tensors.set(name, { ...info, file });
        }
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const infoOf = (name: string): FolderTensorInfo => {
    const info = tensors.get(name);
    if (info === undefined) {
      throw new UsageError("E_MISSING_KEY", `no tensor named '${name}' in ${dir || "."}`, { path: dir });
    }
    return info;
  };
  return {
    files,
    headers,
    tensors,
    index,
    readTensor(name: string, box?: Box, out?: Uint8Array): Promise<Tensor> {
      try {
        const info = infoOf(name);
        return readSafetensorsTensor(sourceOf(info.file), headerOf(info.file), name, box, out);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    locate(name: string, box: Box): StoredRange[] | undefined {
      const info = infoOf(name);
      return locateSafetensorsTensor(sourceOf(info.file), headerOf(info.file), name, box);
    },
    close: closeAll,
  };
}

/**
 * The folder's `*.safetensors` files. Storages that cannot list (HTTP) only find the single-file layout's
 * `model.safetensors`; sharded folders there are opened through their index.
 */
async function listSafetensorsFiles(storage: Storage, dir: string): Promise<string[]> {
  const entries = await storage.list(dir);
  if (entries === undefined) {
    if (await storage.stat(joinPath(dir, SINGLE_FILE_NAME))) return [SINGLE_FILE_NAME];
    throw new StorageError("E_NOT_FOUND", "no such folder (or one that cannot be listed, without an index)", {
      path: dir,
    });
  }
  const names = entries.filter((e) => e.kind === "file" && e.name.endsWith(".safetensors")).map((e) => e.name);
  if (names.length === 0) {
    throw new StorageError("E_NOT_FOUND", "folder has neither an index nor any *.safetensors file", { path: dir });
  }
  return names;
}
