import { flattenStateDict, isMapping } from "../dcp/mod.ts";
import type { StatePath } from "../dcp/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import { FormatError, UsageError } from "../errors/mod.ts";
import { checkLimit, type Limits, resolveLimits } from "../limits/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { byteSize } from "../tensor/mod.ts";
import { isTensorRef, materialiseTensors, openTorchArchive } from "../torch/mod.ts";
import type { TensorRef } from "../torch/mod.ts";
import { collectDictAttributes } from "../dcp/mod.ts";
import type { Entry, TensorSource } from "./tensor_source.ts";

/**
 * A torch.save file: its (nested) state dict flattened with DCP's rules, tensors left as references into
 * the archive until read.
 */
export async function openTorchFileSource(
  storage: Storage,
  path: string,
  limits?: Partial<Limits>,
): Promise<TensorSource> {
  const src = await storage.open(path);
  try {
    const archive = await openTorchArchive(src, { path, limits });
    if (!isMapping(archive.value)) {
      throw new FormatError("E_UNSUPPORTED", "the saved object is not a dict (state dict) of tensors and values", {
        path,
      });
    }
    const flat = flattenStateDict(archive.value, { path, limits });
    checkLimit(resolveLimits(limits), "maxTensors", flat.entries.size, "entries of the state dict", {
      path,
      offset: 0,
    });
    const refs = new Map<string, TensorRef>();
    const values = new Map<string, unknown>();
    const entries: Entry[] = [];
    for (const [name, leaf] of flat.entries) {
      if (isTensorRef(leaf)) {
        refs.set(name, leaf);
        const record = archive.records.get(`${archive.archiveName}/data/${leaf.storageKey}`);
        const bytes = byteSize(leaf.dtype, leaf.shape);
        entries.push({
          kind: "tensor",
          name,
          dtype: leaf.dtype,
          shape: leaf.shape,
          chunks: [{
            offsets: leaf.shape.map(() => 0),
            sizes: [...leaf.shape],
            file: path,
            offset: (record?.dataOffset ?? 0) + leaf.storageOffset * itemsize(leaf.dtype),
            length: bytes,
          }],
          bytes,
        });
      } else {
        values.set(name, leaf);
        entries.push({ kind: "value", name, bytes: 0 });
      }
    }
    const missing = (name: string) => new UsageError("E_MISSING_KEY", `no entry named '${name}'`, { path });
    return {
      format: "torch",
      storage,
      path,
      entries,
      files: [{ path, size: src.size }],
      metadataFiles: [],
      paths: flat.plannerData as Map<string, StatePath>,
      dictAttributes: collectDictAttributes(archive.value),
      readTensor: (name, box, out) => {
        const ref = refs.get(name);
        return ref ? archive.readTensor(ref, box, out) : Promise.reject(missing(name));
      },
      locate: (name, box) => {
        const ref = refs.get(name);
        if (!ref) return Promise.reject(missing(name));
        const range = archive.storedRange(ref, box);
        return Promise.resolve(range && [range]);
      },
      // A value can hold tensors (a tuple of them is a leaf, as in DCP); they are read when the value is.
      readValue: (name) =>
        values.has(name)
          ? materialiseTensors(archive, values.get(name) as PyValue, { path, limits })
          : Promise.reject(missing(name)),
      close: () => src.close(),
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}
