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

  // A depth-first walk with its own stack (values may nest deeper than the JavaScript stack), visiting
  // children in order so storage keys follow first appearance. Lists, dicts, sets and tuples are created
  // before their contents and recorded at once (sharing and cycles are kept); a `PyObject` is made from its
  // converted state, so one met again inside its own state is refused.
  type Frame = { kids: Iterator<TorchSaveValue>; put: (x: PyValue) => void; finish: () => PyValue };
  const stack: Frame[] = [];
  const building = new Set<object>();
  const enter = (v: object, kids: Iterable<TorchSaveValue>, put: Frame["put"], finish: Frame["finish"]) => {
    building.add(v);
    stack.push({ kids: kids[Symbol.iterator](), put, finish });
  };
  /** The converted value, or undefined when a frame was pushed that will deliver it. */
  const convert = (v: TorchSaveValue): PyValue | undefined => {
    if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
    const hit = done.get(v);
    if (hit !== undefined) return hit;
    if (building.has(v)) throw new UsageError("E_USAGE", "a value contains itself through an object's state");
    if (isTensor(v) || isLazyTensor(v)) {
      const r = leaf(v);
      done.set(v, r);
      return r;
    }
    const early = <T extends PyValue>(out: T, kids: Iterable<TorchSaveValue>, put: (x: PyValue) => void) => {
      done.set(v, out);
      enter(v, kids, put, () => out);
      return undefined;
    };
    if (Array.isArray(v)) {
      const out: PyValue[] = [];
      return early(out, v as TorchSaveValue[], (x) => out.push(x));
    }
    if (v instanceof Map) {
      const out = new Map<PyValue, PyValue>();
      const attributes = dictAttributes(v as Map<PyValue, PyValue>);
      if (attributes !== undefined) setDictAttributes(out, attributes);
      let key: PyValue | typeof NO_KEY = NO_KEY;
      return early(out, entriesOf(v as Map<TorchSaveValue, TorchSaveValue>), (x) => {
        if (key === NO_KEY) key = x;
        else {
          out.set(key, x);
          key = NO_KEY;
        }
      });
    }
    if (v instanceof Set) {
      const out = new Set<PyValue>();
      return early(out, v as Set<TorchSaveValue>, (x) => out.add(x));
    }
    if (v instanceof PyTuple) {
      const out = new PyTuple([]);
      return early(out, v.items, (x) => out.items.push(x));
    }
    if (v instanceof PyReduce) {
      const out = new PyReduce(v.callable, new PyTuple([]));
      return early(out, v.args.items, (x) => out.args.items.push(x));
    }
    if (v instanceof PyObject && v.state !== undefined) {
      let state: PyValue = null;
      enter(v, [v.state], (x) => (state = x), () => {
        const out = new PyObject(v.cls, state);
        done.set(v, out);
        return out;
      });
      return undefined;
    }
    return v as PyValue;
  };

  let converted = convert(value);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const next = top.kids.next();
    if (next.done) {
      stack.pop();
      const out = top.finish();
      if (stack.length === 0) converted = out;
      else stack[stack.length - 1].put(out);
      continue;
    }
    const x = convert(next.value);
    if (x !== undefined) top.put(x);
  }
  return { pickle: encodePickle(converted as PyValue, { protocol: 2 }), storages };
}

const NO_KEY = Symbol("no key yet");

function* entriesOf(m: Map<TorchSaveValue, TorchSaveValue>): Iterable<TorchSaveValue> {
  for (const [k, x] of m) yield* [k, x];
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
