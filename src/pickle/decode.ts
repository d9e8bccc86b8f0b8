import { WebdcpError } from "../errors/mod.ts";
import { LimitError, type Limits, resolveLimits } from "../limits/mod.ts";
import { PickleCursor } from "./cursor.ts";
import { BUILTIN_GLOBALS, type GlobalHandler, type GlobalResolver } from "./globals.ts";
import { setDictAttributes } from "./dict_attributes.ts";
import { decodeLatin1, decodeUtf8 } from "./utf8.ts";
import { PyByteArray, PyFloat, PyTuple, type PyValue, SETSTATE } from "./value.ts";

/** Options of `decodePickle`. */
export interface DecodeOptions {
  /** Consulted first for every global; undefined falls back to `BUILTIN_GLOBALS`, then refusal. */
  globals?: GlobalResolver;
  /** Turns a persistent id (`BINPERSID`/`PERSID`) into a value; without it such ids are an error. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** The file the bytes come from, for error messages. */
  path?: string;
  /** Added to every reported offset, for pickles embedded in a larger file. */
  baseOffset?: number;
  /** Most distinct memo slots a stream may fill (default 10 000 000). */
  maxMemoEntries?: number;
  /** Most items on the stack between two marks, and most open marks (default 10 000 000). */
  maxStackDepth?: number;
  /** `maxValues` (values pushed) and `maxMemoReferences` (memo gets) apply here; see `Limits`. */
  limits?: Partial<Limits>;
}

const DEFAULT_LIMIT = 10_000_000;
const HIGHEST_PROTOCOL = 5;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Decodes one pickle (protocols 2-5) into the `PyValue` model without ever running code the stream names:
 * globals resolve only through `options.globals` or `BUILTIN_GLOBALS`. The VM is iterative (a mark stack
 * instead of recursion), so deeply nested input cannot overflow the JavaScript call stack.
 */
export function decodePickle(bytes: Uint8Array, options: DecodeOptions = {}): PyValue {
  return new Unpickler(bytes, options).run();
}

/**
 * Decodes the pickle at the start of `bytes`, which may go on with other data (legacy torch.save files are
 * several pickles in a row): the value and how many bytes it took, through its STOP.
 */
export function decodePickleFrom(bytes: Uint8Array, options: DecodeOptions = {}): { value: PyValue; length: number } {
  const unpickler = new Unpickler(bytes, options);
  const value = unpickler.run();
  return { value, length: unpickler.consumed };
}

/** `int` from `n` little-endian two's-complement bytes: a number when safe, else a bigint. */
function decodeLong(b: Uint8Array, start: number, n: number): number | bigint {
  if (n === 0) return 0;
  const negative = (b[start + n - 1] & 0x80) !== 0;
  if (n <= 6) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[start + i];
    return negative ? v - 2 ** (8 * n) : v;
  }
  let hex = "";
  for (let i = n - 1; i >= 0; i--) hex += b[start + i].toString(16).padStart(2, "0");
  let v = BigInt("0x" + hex);
  if (negative) v -= 1n << BigInt(8 * n);
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

function typeName(v: unknown): string {
  if (v === null) return "None";
  if (typeof v !== "object") return typeof v;
  return Array.isArray(v) ? "list" : (v.constructor?.name ?? "object");
}

class Unpickler {
  private readonly cur: PickleCursor;
  private stack: PyValue[] = [];
  private readonly marks: PyValue[][] = [];
  /**
   * Memo slots by index. An array, not a Map: streams number their slots 0, 1, 2... (MEMOIZE always does),
   * and a torch DCP `.metadata` fills hundreds of thousands of them, where a Map's hashing dominated the
   * decode; a hostile sparse index makes V8 hold the array as a dictionary, still one entry per slot.
   */
  private readonly memo: PyValue[] = [];
  private memoCount = 0;
  /** `module.name` of every resolved global object, so REDUCE/NEWOBJ only ever target globals. */
  private readonly globalNames = new WeakMap<object, string>();
  private readonly maxMemo: number;
  private readonly maxStack: number;
  private readonly limits: Limits;
  private values = 0;
  private memoGets = 0;

  constructor(bytes: Uint8Array, private readonly options: DecodeOptions) {
    this.cur = new PickleCursor(bytes, options.path, options.baseOffset ?? 0);
    this.limits = resolveLimits(options.limits);
    this.maxMemo = options.maxMemoEntries ?? DEFAULT_LIMIT;
    this.maxStack = options.maxStackDepth ?? DEFAULT_LIMIT;
  }

  /** Bytes decoded so far (all of the pickle once `run()` returned). */
  get consumed(): number {
    return this.cur.pos;
  }

  /**
   * The loop every opcode passes through. V8 runs it unoptimised when the CLI decodes a `.metadata` once,
   * where each call and property access costs more than most opcodes' work: so the stream position lives in
   * a local between the calls that read through `cur` (synced around them), the hot opcodes read their
   * arguments here, and the cases are number literals in the order of how often torch's pickles use them
   * (an unoptimised `switch` tests its cases one by one, loading each `OP.X` it would name).
   */
  run(): PyValue {
    const cur = this.cur;
    const bytes = cur.bytes;
    const end = bytes.length;
    let pos = cur.pos;
    for (;;) {
      cur.opStart = pos;
      if (pos >= end) {
        cur.pos = pos;
        cur.nextOpcode(); // throws: the stream ends without STOP
      }
      const opcode = bytes[pos++];
      cur.opcode = opcode;
      switch (opcode) {
        case 0x94: // MEMOIZE
          this.memoPut(this.memoCount);
          break;
        case 0x6a: // LONG_BINGET
          if (pos + 4 > end) this.truncated(pos, 4);
          this.memoGet((bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16)) + bytes[pos + 3] * 0x1000000);
          pos += 4;
          break;
        case 0x68: // BINGET
          if (pos + 1 > end) this.truncated(pos, 1);
          this.memoGet(bytes[pos++]);
          break;
        case 0x71: // BINPUT
          if (pos + 1 > end) this.truncated(pos, 1);
          this.memoPut(bytes[pos++]);
          break;
        case 0x72: // LONG_BINPUT
          if (pos + 4 > end) this.truncated(pos, 4);
          this.memoPut((bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16)) + bytes[pos + 3] * 0x1000000);
          pos += 4;
          break;
        case 0x85: // TUPLE1
          this.push(new PyTuple([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          this.push(new PyTuple([this.pop(), b]));
          break;
        }
        case 0x4d: // BININT2
          if (pos + 2 > end) this.truncated(pos, 2);
          this.push(bytes[pos] | (bytes[pos + 1] << 8));
          pos += 2;
          break;
        case 0x28: // MARK
          if (this.marks.length >= this.maxStack) throw cur.error("E_PICKLE", `more than ${this.maxStack} open marks`);
          this.marks.push(this.stack);
          this.stack = [];
          break;
        case 0x29: // EMPTY_TUPLE
          this.push(new PyTuple([]));
          break;
        case 0x81: { // NEWOBJ
          const args = this.pop();
          this.push(this.invoke("construct", this.pop(), args));
          break;
        }
        case 0x62: // BUILD
          this.build(this.pop(), this.top());
          break;
        case 0x4b: // BININT1
          if (pos + 1 > end) this.truncated(pos, 1);
          this.push(bytes[pos++]);
          break;
        case 0x7d: // EMPTY_DICT
          this.push(new Map());
          break;
        case 0x75: // SETITEMS
          this.setItems(this.popMark(), this.dict());
          break;
        case 0x52: { // REDUCE
          const args = this.pop();
          this.push(this.invoke("call", this.pop(), args));
          break;
        }
        case 0x4a: // BININT
          if (pos + 4 > end) this.truncated(pos, 4);
          this.push(bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24));
          pos += 4;
          break;
        case 0x8c: // SHORT_BINUNICODE
          if (pos + 1 > end) this.truncated(pos, 1);
          cur.pos = pos + 1;
          this.pushText(bytes[pos]);
          pos = cur.pos;
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x5d: // EMPTY_LIST
          this.push([]);
          break;
        case 0x74: // TUPLE
          this.push(new PyTuple(this.popMark()));
          break;
        case 0x65: { // APPENDS
          const items = this.popMark();
          const list = this.list();
          for (let i = 0; i < items.length; i++) list.push(items[i]);
          break;
        }
        case 0x61: { // APPEND
          const item = this.pop();
          this.list().push(item);
          break;
        }
        case 0x73: { // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.dict().set(key, value);
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push(new PyTuple([this.pop(), b, c]));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== "string" || typeof name !== "string") {
            throw cur.error("E_PICKLE", `module and name must be str, got ${typeName(module)} and ${typeName(name)}`);
          }
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x2e: // STOP
          cur.pos = pos;
          return this.pop();
        default:
          cur.pos = pos;
          this.rare(opcode);
          pos = cur.pos;
      }
    }
  }

  /** Throws E_TRUNCATED for an argument of `n` bytes at `pos` that the stream does not hold. */
  private truncated(pos: number, n: number): never {
    this.cur.pos = pos;
    this.cur.need(n);
    throw this.cur.error("E_TRUNCATED", "unreachable: need() throws");
  }

  /**
   * The opcodes a DCP `.metadata` or a torch.save pickle rarely holds, out of `run`'s loop: every start of
   * the CLI decodes a `.metadata` cold, and a smaller loop costs less to interpret and to optimise.
   */
  private rare(opcode: number): void {
    const cur = this.cur;
    switch (opcode) {
      case 0x47: { // BINFLOAT
        const v = cur.f64be();
        this.push(Number.isInteger(v) ? new PyFloat(v) : v);
        break;
      }
      case 0x80: { // PROTO
        const proto = cur.u8();
        if (proto > HIGHEST_PROTOCOL) throw cur.error("E_PICKLE", `unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME
        cur.need(cur.u64());
        break;
      case 0x30: // POP
        if (this.stack.length > 0) this.stack.pop();
        else this.popMark();
        break;
      case 0x31: // POP_MARK
        this.popMark();
        break;
      case 0x32: // DUP
        this.push(this.top());
        break;
      case 0x8a: { // LONG1
        const n = cur.u8();
        this.push(decodeLong(cur.bytes, cur.take(n), n));
        break;
      }
      case 0x8b: { // LONG4
        const n = cur.i32();
        this.push(decodeLong(cur.bytes, cur.take(n), n));
        break;
      }
      case 0x58: // BINUNICODE
        this.pushText(cur.u32());
        break;
      case 0x8d: // BINUNICODE8
        this.pushText(cur.u64());
        break;
      case 0x55: // SHORT_BINSTRING
        this.pushLatin1(cur.u8());
        break;
      case 0x54: // BINSTRING
        this.pushLatin1(cur.i32());
        break;
      case 0x43: // SHORT_BINBYTES
        this.push(this.readBytes(cur.u8()));
        break;
      case 0x42: // BINBYTES
        this.push(this.readBytes(cur.u32()));
        break;
      case 0x8e: // BINBYTES8
        this.push(this.readBytes(cur.u64()));
        break;
      case 0x96: // BYTEARRAY8
        this.push(new PyByteArray(this.readBytes(cur.u64())));
        break;
      case 0x6c: // LIST
        this.push(this.popMark());
        break;
      case 0x64: { // DICT
        const map = new Map<PyValue, PyValue>();
        this.setItems(this.popMark(), map);
        this.push(map);
        break;
      }
      case 0x8f: // EMPTY_SET
        this.push(new Set());
        break;
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const target = this.top();
        if (!(target instanceof Set)) throw cur.error("E_PICKLE", `target is ${typeName(target)}, not a set`);
        for (const item of items) target.add(item);
        break;
      }
      case 0x91: // FROZENSET
        this.push(new Set(this.popMark()));
        break;
      case 0x63: { // GLOBAL
        const module = this.lineText();
        this.push(this.resolveGlobal(module, this.lineText()));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) {
          throw cur.error("E_PICKLE", "keyword arguments are not supported");
        }
        this.push(this.invoke("construct", this.pop(), args));
        break;
      }
      case 0x51: // BINPERSID
        this.push(this.persistent(this.pop()));
        break;
      case 0x50: { // PERSID
        const [start, end] = cur.line();
        this.push(this.persistent(decodeLatin1(cur.bytes, start, end)));
        break;
      }
      default:
        throw cur.error("E_PICKLE_OPCODE", "unknown or unsupported opcode");
    }
  }

  private push(value: PyValue): void {
    if (this.stack.length >= this.maxStack) throw this.cur.error("E_PICKLE", `stack deeper than ${this.maxStack}`);
    if (++this.values > this.limits.maxValues) throw this.limitError("maxValues", "values decoded");
    this.stack.push(value);
  }

  private pop(): PyValue {
    if (this.stack.length === 0) throw this.cur.error("E_PICKLE", "stack underflow");
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length === 0) throw this.cur.error("E_PICKLE", "stack underflow");
    return this.stack[this.stack.length - 1];
  }

  private popMark(): PyValue[] {
    const outer = this.marks.pop();
    if (outer === undefined) throw this.cur.error("E_PICKLE", "no MARK on the stack");
    const items = this.stack;
    this.stack = outer;
    return items;
  }

  private list(): PyValue[] {
    const target = this.top();
    if (!Array.isArray(target)) throw this.cur.error("E_PICKLE", `target is ${typeName(target)}, not a list`);
    return target;
  }

  private dict(): Map<PyValue, PyValue> {
    const target = this.top();
    if (!(target instanceof Map)) throw this.cur.error("E_PICKLE", `target is ${typeName(target)}, not a dict`);
    return target;
  }

  private setItems(items: PyValue[], map: Map<PyValue, PyValue>): void {
    if (items.length % 2 !== 0) throw this.cur.error("E_PICKLE", `odd number of items (${items.length}) for a dict`);
    for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
  }

  private pushText(n: number): void {
    const start = this.cur.take(n);
    const text = decodeUtf8(this.cur.bytes, start, start + n);
    if (text === undefined) throw this.cur.error("E_PICKLE", "string is not valid UTF-8");
    this.push(text);
  }

  private pushLatin1(n: number): void {
    const start = this.cur.take(n);
    this.push(decodeLatin1(this.cur.bytes, start, start + n));
  }

  private readBytes(n: number): Uint8Array {
    const start = this.cur.take(n);
    return this.cur.bytes.slice(start, start + n);
  }

  private lineText(): string {
    const [start, end] = this.cur.line();
    const text = decodeUtf8(this.cur.bytes, start, end);
    if (text === undefined) throw this.cur.error("E_PICKLE", "global name is not valid UTF-8");
    return text;
  }

  // `memo[i] === undefined` rather than `i in memo`: no decoded value is undefined, and `in` costs a runtime call.
  private memoPut(index: number): void {
    const stack = this.stack;
    if (stack.length === 0) throw this.cur.error("E_PICKLE", "stack underflow");
    if (this.memo[index] === undefined) {
      if (this.memoCount >= this.maxMemo) throw this.cur.error("E_PICKLE", `more than ${this.maxMemo} memo entries`);
      this.memoCount++;
    }
    this.memo[index] = stack[stack.length - 1];
  }

  private memoGet(index: number): void {
    const value = this.memo[index];
    if (value === undefined) throw this.cur.error("E_PICKLE", `memo index ${index} is not defined`);
    if (++this.memoGets > this.limits.maxMemoReferences) {
      throw this.limitError("maxMemoReferences", "memo references followed");
    }
    this.push(value);
  }

  private resolveGlobal(module: string, name: string): PyValue {
    const qualified = `${module}.${name}`;
    const handler = this.options.globals?.(module, name) ?? BUILTIN_GLOBALS.get(qualified);
    if (handler === undefined || handler === null) {
      throw this.cur.error("E_PICKLE_GLOBAL", `global ${qualified} is not on the allow-list`);
    }
    this.globalNames.set(handler, qualified);
    return handler as PyValue;
  }

  private invoke(kind: "call" | "construct", target: PyValue, args: PyValue): PyValue {
    const name = typeof target === "object" && target !== null ? this.globalNames.get(target) : undefined;
    if (name === undefined) throw this.cur.error("E_PICKLE", `target is ${typeName(target)}, not a global`);
    if (!(args instanceof PyTuple)) {
      throw this.cur.error("E_PICKLE", `arguments for ${name} are ${typeName(args)}, not a tuple`);
    }
    const method = (target as GlobalHandler)[kind];
    if (typeof method !== "function") {
      throw this.cur.error("E_PICKLE", `global ${name} cannot be ${kind === "call" ? "called" : "constructed"}`);
    }
    try {
      return method.call(target, args.items);
    } catch (e) {
      throw this.rethrow(e, name);
    }
  }

  private build(state: PyValue, target: PyValue): void {
    const setState = typeof target === "object" && target !== null
      ? (target as { [SETSTATE]?: unknown })[SETSTATE]
      : undefined;
    if (typeof setState === "function") {
      try {
        setState.call(target, state);
      } catch (e) {
        throw this.rethrow(e, `state of ${this.globalNames.get(target as object) ?? typeName(target)}`);
      }
    } else if (target instanceof Map) {
      // An OrderedDict's attributes (a state dict's `_metadata`), kept beside it; other state forms are dropped.
      if (state instanceof Map && state.size > 0) setDictAttributes(target, state);
    } else {
      throw this.cur.error("E_PICKLE", `${typeName(target)} accepts no state`);
    }
  }

  private persistent(pid: PyValue): PyValue {
    const load = this.options.persistentLoad;
    if (load === undefined) throw this.cur.error("E_PICKLE", "persistent id found but no persistentLoad was given");
    try {
      return load(pid);
    } catch (e) {
      throw this.rethrow(e, "persistentLoad");
    }
  }

  private limitError(name: "maxValues" | "maxMemoReferences", what: string): LimitError {
    const where = { path: this.cur.path, offset: this.cur.baseOffset + this.cur.opStart };
    return new LimitError(name, this.limits[name], `${what} (more than ${this.limits[name]})`, where);
  }

  /** Errors from handlers gain this opcode's path and offset; foreign errors become E_PICKLE. */
  private rethrow(e: unknown, what: string): WebdcpError {
    if (e instanceof WebdcpError) {
      if (e.offset !== undefined) return e;
      const Kind = e.constructor as typeof WebdcpError;
      return new Kind(e.code, `${what}: ${e.detail}`, {
        path: this.cur.path,
        offset: this.cur.baseOffset + this.cur.opStart,
        cause: e,
      });
    }
    return this.cur.error("E_PICKLE", `${what} failed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}
