import { DTYPE_INFO } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { type Limits, resolveLimits } from "../limits/mod.ts";
import { checkValueGraph, dictAttributes, PyTuple, type PyValue, setDictAttributes } from "../pickle/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { numel } from "../tensor/mod.ts";
import { openTorchArchive, type OpenTorchArchiveOptions, type TorchArchive } from "./open_archive.ts";
import { TensorRef } from "./tensor_ref.ts";
import { pyObject } from "./tokens.ts";

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
 * list referenced twice) stay shared in the result, and a container inside itself stays so, as `torch.load`
 * gives them.
 */
export async function loadTorch(source: ByteSource, opts: OpenTorchArchiveOptions = {}): Promise<PyValue> {
  const archive = await openTorchArchive(source, opts);
  return await materialiseTensors(archive, archive.value, {
    path: opts.path ?? source.path,
    baseOffset: opts.baseOffset,
    limits: opts.limits,
  });
}

/**
 * `value` (the archive's value or a part of it) with every `TensorRef` inside it read as a dense `Tensor`,
 * under the same bound on the total as `loadTorch`. Nesting deeper than `maxDepth` and more references to
 * shared parts than `maxMemoReferences` (of `where.limits`) are refused with E_LIMIT.
 */
export async function materialiseTensors(
  archive: TorchArchive,
  value: PyValue,
  where: { path: string; baseOffset?: number; limits?: Partial<Limits> },
): Promise<PyValue> {
  const path = where.path;
  const done = new Map<object, PyValue>();
  const dataPrefix = `${archive.archiveName}/data/`;
  let storageBytes = 0;
  for (const [name, e] of archive.records) if (name.startsWith(dataPrefix)) storageBytes += e.size;
  const budget = MATERIALISED_PER_STORAGE_BYTE * storageBytes + MATERIALISED_ALLOWANCE;
  let materialised = 0;

  // The documented limits first (nesting, references to shared parts), measured without recursion. Then each
  // container is copied once, before its contents (so shared parts stay shared and a container inside itself
  // becomes one inside its copy), and filled from a work list, so depth costs heap, not stack.
  const pkl = archive.records.get(`${archive.archiveName}/data.pkl`);
  const at = { path, offset: pkl && (where.baseOffset ?? 0) + pkl.dataOffset };
  checkValueGraph(value, resolveLimits(where.limits), at, { what: "data.pkl value" });
  const todo: Array<() => Promise<void>> = [];
  const copy = async (v: PyValue): Promise<PyValue> => {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
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
      const t = pyObject(await archive.readTensor(v));
      done.set(v, t);
      return t;
    }
    if (Array.isArray(v)) {
      const out: PyValue[] = [];
      done.set(v, out);
      todo.push(async () => {
        for (const x of v) out.push(await copy(x));
      });
      return out;
    }
    if (v instanceof Map) {
      const out = new Map<PyValue, PyValue>();
      const attributes = dictAttributes(v);
      if (attributes !== undefined) setDictAttributes(out, attributes);
      done.set(v, out);
      todo.push(async () => {
        for (const [k, x] of v) out.set(await copy(k), await copy(x));
      });
      return out;
    }
    if (v instanceof PyTuple) {
      const out = new PyTuple([]);
      done.set(v, out);
      todo.push(async () => {
        for (const x of v.items) out.items.push(await copy(x));
      });
      return out;
    }
    return v;
  };
  const result = await copy(value);
  for (let job = todo.pop(); job !== undefined; job = todo.pop()) await job();
  return result;
}
