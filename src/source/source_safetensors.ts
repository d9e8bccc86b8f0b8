import {
  locateSafetensorsTensor,
  openSafetensorsFolder,
  readSafetensorsHeader,
  readSafetensorsTensor,
  SAFETENSORS_INDEX_NAME,
} from "../safetensors/mod.ts";
import type { SafetensorsTensorInfo } from "../safetensors/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { byteSize } from "../tensor/mod.ts";
import type { Entry, TensorSource } from "./tensor_source.ts";

function tensorEntry(name: string, info: SafetensorsTensorInfo, file: string): Entry {
  return {
    kind: "tensor",
    name,
    dtype: info.dtype,
    shape: info.shape,
    chunks: [{
      offsets: info.shape.map(() => 0),
      sizes: [...info.shape],
      file,
      offset: info.begin,
      length: info.end - info.begin,
    }],
    bytes: byteSize(info.dtype, info.shape),
  };
}

const noValues = (path: string) => (name: string) =>
  Promise.reject(new UsageError("E_MISSING_KEY", `safetensors holds no value named '${name}'`, { path }));

/** One `.safetensors` file. */
export async function openSafetensorsFileSource(
  storage: Storage,
  path: string,
  limits?: Partial<Limits>,
): Promise<TensorSource> {
  const src = await storage.open(path);
  try {
    const header = await readSafetensorsHeader(src, { limits });
    return {
      format: "safetensors",
      storage,
      path,
      entries: [...header.tensors].map(([name, info]) => tensorEntry(name, info, path)),
      files: [{ path, size: src.size }],
      metadataFiles: [],
      paths: null,
      readTensor: (name, box, out) => readSafetensorsTensor(src, header, name, box, out),
      locate: (name, box) => Promise.resolve(locateSafetensorsTensor(src, header, name, box)),
      readValue: noValues(path),
      close: () => src.close(),
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** A HuggingFace folder: through its index when it has one, else every top-level `*.safetensors` file. */
export async function openHfFolderSource(
  storage: Storage,
  dir: string,
  limits?: Partial<Limits>,
): Promise<TensorSource> {
  const folder = await openSafetensorsFolder(storage, dir, { limits });
  const sizes = new Map<string, number>();
  for (const f of folder.files) sizes.set(f, (await storage.stat(f))?.size ?? 0);
  const entries = [...folder.tensors].map(([name, info]) => tensorEntry(name, info, info.file));
  return {
    format: "hf",
    storage,
    path: dir,
    entries,
    files: folder.files.map((path) => ({ path, size: sizes.get(path) ?? 0 })),
    metadataFiles: folder.index ? [joinPath(dir, SAFETENSORS_INDEX_NAME)] : [],
    paths: null,
    readTensor: (name, box, out) => folder.readTensor(name, box, out),
    locate: (name, box) => Promise.resolve(folder.locate(name, box)),
    readValue: noValues(dir),
    close: () => folder.close(),
  };
}
