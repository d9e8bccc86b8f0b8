/**
 * The JavaScript model of Python values that pickles carry.
 *
 * - `None` -> `null`; `bool` -> `boolean`; `str` -> `string`.
 * - `int` -> `number` when it is a safe integer, else `bigint`.
 * - `float` -> `number`, except integral floats (0.0, 2.0, ...) which decode to `PyFloat` so that a
 *   re-encoded value keeps its Python type. Encoding a non-integral `number` emits a float, an integral one
 *   an int, and `PyFloat` always a float.
 * - `bytes` -> `Uint8Array`; `bytearray` -> `PyByteArray`.
 * - `tuple` -> `PyTuple`; `list` -> `Array`; `dict`/`OrderedDict` -> `Map` (insertion order, any keys);
 *   `set`/`frozenset` -> `Set`; `complex` -> `PyComplex`.
 * - Objects that an allow-listed global builds are whatever that global's handler returns.
 * - For encoding only: `PyGlobal` (a bare class/function reference), `PyReduce` (`callable(*args)`),
 *   `PyObject` (`cls.__new__(cls)` + optional `BUILD state`) and `PyPersistent` (a persistent id).
 */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyFloat
  | PyByteArray
  | PyComplex
  | PyTuple
  | PyValue[]
  | Map<PyValue, PyValue>
  | Set<PyValue>
  | PyGlobal
  | PyReduce
  | PyObject
  | PyPersistent
  | { readonly [key: string]: unknown }; // objects built by allow-listed globals (records, tensors)

/** A Python `float` (kept apart from `int`, which decodes to a number or bigint). */
export class PyFloat {
  /** A float of this value. */
  constructor(readonly value: number) {}
  /** The number. */
  valueOf(): number {
    return this.value;
  }
}

/** A Python `bytearray`. */
export class PyByteArray {
  /** A bytearray of these bytes. */
  constructor(readonly bytes: Uint8Array) {}
}

/** A Python `complex`. */
export class PyComplex {
  /** A complex number `re + im j`. */
  constructor(readonly re: number, readonly im: number) {}
}

/** A Python `tuple`. */
export class PyTuple {
  /** The items. */
  readonly items: PyValue[];
  /** A tuple of these items. */
  constructor(items: PyValue[]) {
    this.items = items;
  }
}

/** A reference to a Python global (`module.name`), as pickle's GLOBAL opcode names it. */
export class PyGlobal {
  /** The global `module.name`. */
  constructor(readonly module: string, readonly name: string) {}
}

/** A call `callable(*args)` that pickle records and that webdcp does not run. */
export class PyReduce {
  /** The call `callable(*args)`. */
  constructor(readonly callable: PyGlobal, readonly args: PyTuple) {}
}

/** `NEWOBJ` of `cls` with empty args, then `BUILD state` when `state` is given. */
export class PyObject {
  /** An instance of `cls`, with its `__setstate__` state. */
  constructor(readonly cls: PyGlobal, readonly state?: PyValue) {}
}

/** A persistent id (torch.save's storage references). */
export class PyPersistent {
  /** The persistent id `pid`. */
  constructor(readonly pid: PyValue) {}
}

/** A tuple of the arguments. */
export function tuple(...items: PyValue[]): PyTuple {
  return new PyTuple(items);
}

/** The numeric value of a Python int or float, or undefined for anything else. */
export function pyNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

/** Implemented by objects that allow-listed globals construct, to receive pickle `BUILD` state. */
export const SETSTATE: unique symbol = Symbol.for("webdcp.pickle.setstate");
