import { DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { dictAttributes, PyTuple, type PyValue, setDictAttributes } from "../pickle/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { numel, type Tensor } from "../tensor/mod.ts";
import { openTorchArchive, type OpenTorchArchiveOptions, type TorchArchive } from "./open_archive.ts";
import { TensorRef } from "./tensor_ref.ts";
import { pyObject } from "./tokens.ts";

/** Deeper nesting than this is refused rather than risking the JavaScript call stack. */
const MAX_DEPTH = 2000;
/**
 * Every tensor gets its own dense copy, so views that repeat or expand a storage (stride 0) cost more than
 * the file holds: a 3 KB archive of eight `zeros(1).expand(2**22)` asks for 128 MiB. Real state dicts stay
 * near their storage bytes (a fused weight saved beside its views is twice), hence this bound on the total;
 * the allowance lets small files carry a few modest expanded buffers.
 */
const MATERIALISED_PER_STORAGE_BYTE = 2;
const MATERIALISED_ALLOWANCE = 8 << 20;

/**
 * Loads a torch.save archive with every tensor materialised as a dense `Tensor`. Views become copies, and
 * two tensors sharing one storage each get their own data. Containers shared inside the pickle (the same
 * list referenced twice) stay shared in the result.
 */
export async function loadTorch(source: ByteSource, opts: OpenTorchArchiveOptions = {}): Promise<PyValue> {
  const archive = await openTorchArchive(source, opts);
  return await materialiseTensors(archive, archive.value, {
    path: opts.path ?? source.path,
    baseOffset: opts.baseOffset,
  });
}

/**
 * `value` (the archive's value or a part of it) with every `TensorRef` inside it read as a dense `Tensor`,
 * under the same bound on the total as `loadTorch`.
 */
export async function materialiseTensors(
  archive: TorchArchive,
  value: PyValue,
  where: { path: string; baseOffset?: number },
): Promise<PyValue> {
  const path = where.path;
  const done = new Map<object, PyValue>();
  const dataPrefix = `${archive.archiveName}/data/`;
  let storageBytes = 0;
  for (const [name, e] of archive.records) if (name.startsWith(dataPrefix)) storageBytes += e.size;
  const budget = MATERIALISED_PER_STORAGE_BYTE * storageBytes + MATERIALISED_ALLOWANCE;
  let materialised = 0;

  const walk = async (v: PyValue, depth: number): Promise<PyValue> => {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (depth > MAX_DEPTH) throw new FormatError("E_UNSUPPORTED", `value nests deeper than ${MAX_DEPTH}`, { path });
    if (v instanceof TensorRef) {
      materialised += numel(v.shape) * DTYPE_INFO[v.dtype].itemsize;
      if (materialised > budget) {
        const record = archive.records.get(dataPrefix + v.storageKey);
        throw new FormatError(
          "E_UNSUPPORTED",
          `loading every tensor dense would take over ${materialised} bytes from ${storageBytes} bytes of storages ` +
            `(views that repeat or expand storage); open the archive with openTorchArchive() and read such ` +
            `tensors one at a time with readTensor(ref, box)`,
          { path, offset: (where.baseOffset ?? 0) + (record?.dataOffset ?? 0) },
        );
      }
      const t: Tensor = await archive.readTensor(v);
      done.set(v, pyObject(t));
      return pyObject(t);
    }
    if (Array.isArray(v)) {
      const out: PyValue[] = [];
      done.set(v, out);
      for (const x of v) out.push(await walk(x, depth + 1));
      return out;
    }
    if (v instanceof Map) {
      const out = new Map<PyValue, PyValue>();
      const attributes = dictAttributes(v);
      if (attributes !== undefined) setDictAttributes(out, attributes);
      done.set(v, out);
      for (const [k, x] of v) out.set(await walk(k, depth + 1), await walk(x, depth + 1));
      return out;
    }
    if (v instanceof PyTuple) {
      // A tuple cannot contain itself, so its items are settled before it is recorded.
      const items: PyValue[] = [];
      for (const x of v.items) items.push(await walk(x, depth + 1));
      const out = new PyTuple(items);
      done.set(v, out);
      return out;
    }
    return v;
  };
  return await walk(value, 0);
}
