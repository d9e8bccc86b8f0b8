import { UsageError } from "../errors/mod.ts";
import { type Limits, resolveLimits } from "../limits/mod.ts";
import { checkValueGraph } from "./graph.ts";
import { dictAttributes } from "./dict_attributes.ts";
import { OP } from "./opcodes.ts";
import { decodeLatin1, encodeUtf8 } from "./utf8.ts";
import {
  PyByteArray,
  PyComplex,
  PyFloat,
  PyGlobal,
  PyObject,
  PyPersistent,
  PyReduce,
  PyTuple,
  type PyValue,
} from "./value.ts";
import { PickleWriter } from "./writer.ts";

/** Options of `encodePickle`. */
export interface EncodeOptions {
  /** 2: as `torch.save` writes `data.pkl`; 4: as `pickle.dump` writes DCP `.metadata`. */
  protocol: 2 | 4;
  /** Overrides of the limits (`maxDepth`, `maxMemoReferences`) the value is measured against first. */
  limits?: Partial<Limits>;
}

/**
 * Pickles `value` the way CPython's C pickler does, byte for byte, for the value shapes that torch.save and
 * DCP produce. Python memoizes by object identity; here strings are memoized by value, globals by
 * `module.name` (a global is one object in Python), everything else by identity.
 */
export function encodePickle(value: PyValue, options: EncodeOptions): Uint8Array {
  if (options.protocol !== 2 && options.protocol !== 4) {
    throw new UsageError("E_USAGE", `pickle protocol must be 2 or 4, got ${options.protocol}`);
  }
  // Nesting past maxDepth is refused, as readers refuse it (measured without recursion; the pickler keeps
  // its own stack too). Shared and cyclic values are fine: the memo writes each object once.
  checkValueGraph(value, resolveLimits(options.limits), {}, { what: "value to pickle" });
  return new Pickler(options.protocol).dump(value);
}

/** A value to pickle inside the one being pickled. */
type Child = PyValue | FreshText;
/** What a container's pickling yields: each child value to pickle before it goes on. */
type Steps = Generator<Child, void, void>;

const BATCHSIZE = 1000;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The latin-1 text CPython builds for one `bytes` object: a new str, so never shared through the memo. */
class FreshText {
  constructor(readonly text: string) {}
}

const CODECS_ENCODE = new PyGlobal("_codecs", "encode");
const BUILTIN = (name: string) => new PyGlobal("builtins", name);
const [BYTES, BYTEARRAY, SET, COMPLEX] = ["bytes", "bytearray", "set", "complex"].map(BUILTIN);
const ORDERED_DICT = new PyGlobal("collections", "OrderedDict");

/** Two's complement, little-endian, in the fewest bytes that keep the sign (CPython's `encode_long`). */
function encodeLong(x: bigint): Uint8Array {
  const magnitude = x < 0n ? -x : x;
  let n = (magnitude.toString(2).length >> 3) + 1;
  const twos = x < 0n ? (1n << BigInt(8 * n)) + x : x;
  const out = new Uint8Array(n);
  for (let i = 0, v = twos; i < n; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  if (x < 0n && n > 1 && out[n - 1] === 0xff && (out[n - 2] & 0x80) !== 0) n--;
  return out.subarray(0, n);
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v !== "object" || v === null) return typeof v;
  return v.constructor?.name ?? "object";
}

class Pickler {
  private readonly out = new PickleWriter();
  /** Memo slots of objects (by identity) and strings (by value). */
  private readonly memo = new Map<unknown, number>();
  /** Memo slots of globals, keyed `module\nname`. */
  private readonly globals = new Map<string, number>();
  private nextMemo = 0;

  constructor(private readonly protocol: 2 | 4) {}

  dump(value: PyValue): Uint8Array {
    this.out.opWithUint(OP.PROTO, this.protocol, 1);
    if (this.protocol >= 4) this.out.startFraming();
    // Depth first with a stack of containers part-way through their steps, not recursion.
    const open: Steps[] = [];
    const save = (v: Child) => {
      const steps = this.saveValue(v);
      if (!steps) this.out.opcodeBoundary();
      else open.push(steps);
    };
    save(value);
    while (open.length > 0) {
      const next = open[open.length - 1].next();
      if (!next.done) save(next.value);
      else {
        open.pop();
        this.out.opcodeBoundary();
      }
    }
    this.out.byte(OP.STOP);
    return this.out.finish();
  }

  /** Writes `v` whole, or (a container) starts it and returns the steps that write the rest. */
  private saveValue(v: Child): Steps | void {
    if (v === null) return this.out.byte(OP.NONE);
    switch (typeof v) {
      case "boolean":
        return this.out.byte(v ? OP.NEWTRUE : OP.NEWFALSE);
      case "number":
        return Number.isInteger(v) ? this.saveInt(v) : this.saveFloat(v);
      case "bigint":
        return this.saveInt(v);
      case "string":
        return this.saveString(v);
    }
    if (v instanceof PyFloat) return this.saveFloat(v.value);
    if (v instanceof FreshText) return this.saveStr(v.text, undefined);
    if (v instanceof PyPersistent) return this.savePersistent(v);
    if (v instanceof PyGlobal) return this.saveGlobal(v);
    if (this.memoGet(v) !== undefined) return;
    if (v instanceof Uint8Array) return this.saveBytes(v);
    if (v instanceof PyTuple) return this.saveTuple(v);
    if (Array.isArray(v)) return this.saveList(v);
    if (v instanceof Map) return this.saveDict(v);
    if (v instanceof Set) return this.saveSet(v);
    if (v instanceof PyReduce) return this.saveReduce(v.callable, v.args, v);
    if (v instanceof PyObject) return this.saveObject(v);
    if (v instanceof PyByteArray) {
      return this.saveReduce(BYTEARRAY, v.bytes.length === 0 ? new PyTuple([]) : new PyTuple([v.bytes.slice()]), v);
    }
    if (v instanceof PyComplex) {
      return this.saveReduce(COMPLEX, new PyTuple([new PyFloat(v.re), new PyFloat(v.im)]), v);
    }
    throw new UsageError("E_USAGE", `cannot pickle a value of type ${describe(v)}`);
  }

  private saveString(v: string): void {
    if (this.memoGet(v) === undefined) this.saveStr(v, v);
  }

  private *savePersistent(v: PyPersistent): Steps {
    yield v.pid;
    this.out.byte(OP.BINPERSID);
  }

  /** Emits BINGET for an already memoized key; returns undefined when it is new. */
  private memoGet(key: unknown): true | undefined {
    const index = this.memo.get(key);
    if (index === undefined) return undefined;
    this.writeGet(index);
    return true;
  }

  private writeGet(index: number): void {
    if (index < 256) this.out.opWithUint(OP.BINGET, index, 1);
    else this.out.opWithUint(OP.LONG_BINGET, index, 4);
  }

  private memoize(key: unknown): number {
    const index = this.nextMemo++;
    if (key !== undefined) this.memo.set(key, index);
    if (this.protocol >= 4) this.out.byte(OP.MEMOIZE);
    else if (index < 256) this.out.opWithUint(OP.BINPUT, index, 1);
    else this.out.opWithUint(OP.LONG_BINPUT, index, 4);
    return index;
  }

  private saveInt(v: number | bigint): void {
    const n = Number(v);
    if (n >= INT32_MIN && n <= INT32_MAX && (typeof v === "number" || BigInt(n) === v)) {
      if (n >= 0 && n <= 0xff) this.out.opWithUint(OP.BININT1, n, 1);
      else if (n >= 0 && n <= 0xffff) this.out.opWithUint(OP.BININT2, n, 2);
      else this.out.opWithUint(OP.BININT, n >>> 0, 4);
      return;
    }
    const bytes = encodeLong(BigInt(v));
    if (bytes.length < 256) this.out.opWithUint(OP.LONG1, bytes.length, 1);
    else this.out.opWithUint(OP.LONG4, bytes.length, 4);
    this.out.bytes(bytes);
  }

  private saveFloat(v: number): void {
    const bytes = new Uint8Array(9);
    bytes[0] = OP.BINFLOAT;
    new DataView(bytes.buffer).setFloat64(1, v, false);
    this.out.bytes(bytes);
  }

  private saveStr(text: string, memoKey: string | undefined): void {
    const data = encodeUtf8(text);
    const header = this.protocol >= 4 && data.length < 256
      ? Uint8Array.of(OP.SHORT_BINUNICODE, data.length)
      : this.lengthHeader(OP.BINUNICODE, data.length);
    this.out.payload(header, data);
    this.memoize(memoKey);
  }

  private lengthHeader(op: number, length: number): Uint8Array {
    const header = new Uint8Array(5);
    header[0] = op;
    new DataView(header.buffer).setUint32(1, length, true);
    return header;
  }

  private saveBytes(b: Uint8Array): Steps | void {
    if (this.protocol < 3) {
      if (b.length === 0) return this.saveReduce(BYTES, new PyTuple([]), b);
      const text = new FreshText(decodeLatin1(b, 0, b.length)) as unknown as PyValue;
      return this.saveReduce(CODECS_ENCODE, new PyTuple([text, "latin1"]), b);
    }
    const header = b.length < 256
      ? Uint8Array.of(OP.SHORT_BINBYTES, b.length)
      : this.lengthHeader(OP.BINBYTES, b.length);
    this.out.payload(header, b);
    this.memoize(b);
  }

  private saveTuple(t: PyTuple): Steps | void {
    if (t.items.length === 0) return this.out.byte(OP.EMPTY_TUPLE);
    return this.tupleSteps(t);
  }

  private *tupleSteps(t: PyTuple): Steps {
    const n = t.items.length;
    if (n > 3) this.out.byte(OP.MARK);
    for (const item of t.items) yield item;
    const index = this.memo.get(t);
    if (index !== undefined) {
      // The tuple reached itself through a mutable item and is already built: drop the copy.
      if (n > 3) this.out.byte(OP.POP_MARK);
      else for (let i = 0; i < n; i++) this.out.byte(OP.POP);
      return this.writeGet(index);
    }
    this.out.byte(n > 3 ? OP.TUPLE : OP.TUPLE1 + n - 1);
    this.memoize(t);
  }

  private *saveList(list: PyValue[]): Steps {
    this.out.byte(OP.EMPTY_LIST);
    this.memoize(list);
    if (list.length === 0) return;
    if (list.length === 1) {
      yield list[0];
      return this.out.byte(OP.APPEND);
    }
    let i = 0;
    do {
      this.out.byte(OP.MARK);
      for (const end = Math.min(list.length, i + BATCHSIZE); i < end; i++) yield list[i];
      this.out.byte(OP.APPENDS);
    } while (i < list.length);
  }

  private *saveDict(map: Map<PyValue, PyValue>): Steps {
    const attributes = dictAttributes(map);
    if (attributes !== undefined) return yield* this.saveOrderedDict(map, attributes);
    this.out.byte(OP.EMPTY_DICT);
    this.memoize(map);
    yield* this.saveItems(map);
  }

  /** As CPython pickles an OrderedDict with attributes: `OrderedDict()`, its items, then BUILD with them. */
  private *saveOrderedDict(map: Map<PyValue, PyValue>, attributes: Map<PyValue, PyValue>): Steps {
    yield* this.saveReduce(ORDERED_DICT, new PyTuple([]), map);
    yield* this.saveItems(map);
    yield attributes;
    this.out.byte(OP.BUILD);
  }

  // Helpers that a container's steps delegate to (`yield*`) are one level each, never nested by the data.
  private *saveItems(map: Map<PyValue, PyValue>): Steps {
    if (map.size === 0) return;
    if (map.size === 1) {
      const [[key, value]] = map;
      yield key;
      yield value;
      return this.out.byte(OP.SETITEM);
    }
    yield* this.batches(map.entries(), OP.SETITEMS, (entry) => entry);
  }

  private *saveSet(set: Set<PyValue>): Steps {
    if (this.protocol < 4) return yield* this.saveReduce(SET, new PyTuple([[...set]]), set);
    this.out.byte(OP.EMPTY_SET);
    this.memoize(set);
    if (set.size === 0) return;
    yield* this.batches(set.values(), OP.ADDITEMS, (item) => [item]);
  }

  /** MARK ... op in groups of 1000; like CPython, a group that ends exactly full is followed by an empty one. */
  private *batches<T>(items: Iterator<T>, op: number, valuesOf: (item: T) => Child[]): Steps {
    let count: number;
    do {
      this.out.byte(OP.MARK);
      for (count = 0; count < BATCHSIZE; count++) {
        const next = items.next();
        if (next.done) break;
        yield* valuesOf(next.value);
      }
      this.out.byte(op);
    } while (count === BATCHSIZE);
  }

  private saveGlobal(g: PyGlobal): void {
    const key = `${g.module}\n${g.name}`;
    const index = this.globals.get(key);
    if (index !== undefined) return this.writeGet(index);
    if (this.protocol >= 4) {
      // Strings, written whole: no recursion.
      for (const text of [g.module, g.name]) {
        this.saveString(text);
        this.out.opcodeBoundary();
      }
      this.out.byte(OP.STACK_GLOBAL);
    } else {
      if (key.indexOf("\n") !== key.lastIndexOf("\n")) {
        throw new UsageError("E_USAGE", `global name ${JSON.stringify(key)} contains a newline`);
      }
      // Protocol 2 readers may be Python 2, so CPython writes the Python 2 module name.
      const module = g.module === "builtins" ? "__builtin__" : g.module;
      this.out.bytes(encodeUtf8(`c${module}\n${g.name}\n`));
    }
    this.globals.set(key, this.memoize(undefined));
  }

  private *saveReduce(callable: PyGlobal, args: PyTuple, obj: PyValue): Steps {
    yield callable;
    yield args;
    this.out.byte(OP.REDUCE);
    this.memoizeResult(obj);
  }

  private *saveObject(obj: PyObject): Steps {
    yield obj.cls;
    yield new PyTuple([]);
    this.out.byte(OP.NEWOBJ);
    this.memoizeResult(obj);
    if (obj.state === undefined || obj.state === null) return;
    yield obj.state;
    this.out.byte(OP.BUILD);
  }

  /** After REDUCE/NEWOBJ: memoize the result, unless its arguments already reached (and memoized) it. */
  private memoizeResult(obj: PyValue): void {
    const index = this.memo.get(obj);
    if (index === undefined) {
      this.memoize(obj);
      return;
    }
    this.out.byte(OP.POP);
    this.writeGet(index);
  }
}
