import { type DType, DTYPE_INFO } from "../dtype/mod.ts";
import { UsageError } from "../errors/mod.ts";
import {
  dictAttributes,
  encodePickle,
  PyGlobal,
  PyObject,
  PyPersistent,
  PyReduce,
  PyTuple,
  type PyValue,
  setDictAttributes,
} from "../pickle/mod.ts";
import { contiguousStrides, isTensor, numel, type Tensor } from "../tensor/mod.ts";
import { isLazyTensor, type LazyTensor } from "./lazy_tensor.ts";

/** One storage record to write: `data/<key>`, holding the bytes of one tensor leaf. */
export interface StorageToWrite {
  key: string;
  byteLength: number;
  leaf: Tensor | LazyTensor;
}

/**
 * What `saveTorch` accepts: a `PyValue` tree whose leaves may also be `Tensor`s or `LazyTensor`s (interfaces,
 * which TypeScript will not take as `PyValue` objects), nested in lists, dicts and sets.
 */
export type TorchSaveValue =
  | PyValue
  | Tensor
  | LazyTensor
  | TorchSaveValue[]
  | Map<TorchSaveValue, TorchSaveValue>
  | Set<TorchSaveValue>;

export interface TorchSavePlan {
  /** `data.pkl`: protocol 2, as CPython's pickler writes it for torch.save. */
  pickle: Uint8Array;
  /** In key order, which is the order of first appearance while pickling. */
  storages: StorageToWrite[];
}

const REBUILD_V2 = new PyGlobal("torch._utils", "_rebuild_tensor_v2");
const REBUILD_V3 = new PyGlobal("torch._utils", "_rebuild_tensor_v3");
const ORDERED_DICT = new PyGlobal("collections", "OrderedDict");
/** torch 2.15 names the untyped storage class by its defining module (verified against its output). */
const UNTYPED_STORAGE = new PyGlobal("torch.storage", "UntypedStorage");
const MAX_DEPTH = 2000;

/**
 * Turns a value with `Tensor`/`LazyTensor` leaves into torch.save's `data.pkl` and the list of storages.
 * Every leaf is its own storage, except that the same leaf object reached twice is pickled once and
 * shared (CPython's memo does the same for one tensor object saved twice).
 */
export function planTorchSave(value: TorchSaveValue): TorchSavePlan {
  const storages: StorageToWrite[] = [];
  const done = new Map<object, PyValue>();

  const leaf = (t: Tensor | LazyTensor): PyReduce => {
    const info = DTYPE_INFO[t.dtype];
    if (info === undefined) throw new UsageError("E_USAGE", `unknown dtype '${String(t.dtype)}'`);
    const shape = checkLeafShape(t.shape);
    const count = numel(shape);
    const byteLength = count * info.itemsize;
    if (isTensor(t) && t.data.byteLength !== byteLength) {
      throw new UsageError(
        "E_USAGE",
        `tensor ${t.dtype}[${shape}] needs ${byteLength} bytes, has ${t.data.byteLength}`,
      );
    }
    const key = String(storages.length);
    storages.push({ key, byteLength, leaf: t });
    const storageClass = info.storageClass;
    const typed = storageClass !== undefined;
    const pid = new PyPersistent(
      new PyTuple([
        "storage",
        storageClass !== undefined ? new PyGlobal("torch", storageClass) : UNTYPED_STORAGE,
        key,
        "cpu",
        typed ? count : byteLength,
      ]),
    );
    const args: PyValue[] = [
      pid,
      0,
      new PyTuple([...shape]),
      new PyTuple(contiguousStrides(shape)),
      false,
      new PyReduce(ORDERED_DICT, new PyTuple([])),
    ];
    if (!typed) args.push(dtypeGlobal(t.dtype));
    return new PyReduce(typed ? REBUILD_V2 : REBUILD_V3, new PyTuple(args));
  };

  const walk = (v: TorchSaveValue, depth: number): PyValue => {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (depth > MAX_DEPTH) throw new UsageError("E_USAGE", `value nests deeper than ${MAX_DEPTH}`);
    if (isTensor(v) || isLazyTensor(v)) {
      const r = leaf(v);
      done.set(v, r);
      return r;
    }
    if (Array.isArray(v)) {
      const out: PyValue[] = [];
      done.set(v, out);
      for (const x of v as TorchSaveValue[]) out.push(walk(x, depth + 1));
      return out;
    }
    if (v instanceof Map) {
      const out = new Map<PyValue, PyValue>();
      const attributes = dictAttributes(v as Map<PyValue, PyValue>);
      if (attributes !== undefined) setDictAttributes(out, attributes);
      done.set(v, out);
      for (const [k, x] of v as Map<TorchSaveValue, TorchSaveValue>) {
        const key = walk(k, depth + 1);
        out.set(key, walk(x, depth + 1));
      }
      return out;
    }
    const mapped = mapOther(v as PyValue, (x) => walk(x, depth + 1));
    done.set(v, mapped);
    return mapped;
  };

  const converted = walk(value, 0);
  return { pickle: encodePickle(converted, { protocol: 2 }), storages };
}

/** Containers whose items are settled before the container itself (tuples, sets, reduce/object payloads). */
function mapOther(v: PyValue, walk: (x: PyValue) => PyValue): PyValue {
  if (v instanceof PyTuple) return new PyTuple(v.items.map(walk));
  if (v instanceof Set) return new Set([...v].map(walk));
  if (v instanceof PyReduce) return new PyReduce(v.callable, new PyTuple(v.args.items.map(walk)));
  if (v instanceof PyObject) return v.state === undefined ? v : new PyObject(v.cls, walk(v.state));
  return v;
}

function dtypeGlobal(dtype: DType): PyGlobal {
  return new PyGlobal("torch", dtype);
}

function checkLeafShape(shape: readonly unknown[]): number[] {
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new UsageError("E_USAGE", `invalid tensor shape [${shape.join(", ")}]`);
    }
  }
  return shape as number[];
}
