import { encodeLatin1, encodeUtf8 } from "./utf8.ts";
import { PyByteArray, PyComplex, pyNumber, PyTuple, type PyValue } from "./value.ts";

/**
 * What a pickle global resolves to. `REDUCE` calls `call(args)`, `NEWOBJ` calls `construct(args)`. A global
 * used as a plain value (e.g. the dtype `torch.float32`) is pushed as the handler object itself, so handlers
 * may carry any other fields their consumer wants to recognise.
 */
export type GlobalHandler = {
  call?(args: PyValue[]): PyValue;
  construct?(args: PyValue[]): PyValue;
};

/** Maps `module`, `name` (exactly as the pickle spells them) to a handler, or undefined to refuse. */
export type GlobalResolver = (module: string, name: string) => object | undefined;

function items(value: PyValue, what: string): PyValue[] {
  if (Array.isArray(value)) return value;
  if (value instanceof PyTuple) return value.items;
  if (value instanceof Set) return [...value];
  throw new Error(`${what} expects a list, tuple or set`);
}

function byteValues(value: PyValue, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  const out = items(value, what).map((v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new Error(`${what} expects integers in range(256)`);
    }
    return v;
  });
  return Uint8Array.from(out);
}

const LATIN1 = new Set(["latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "l1"]);
const UTF8 = new Set(["utf-8", "utf8", "utf_8"]);

/** `_codecs.encode(text, encoding)`: how protocol 2 carries `bytes` (latin-1 text). */
function encodeText(args: PyValue[], what: string): Uint8Array {
  const [text, encoding = "utf-8"] = args;
  if (typeof text !== "string" || typeof encoding !== "string" || args.length > 2) {
    throw new Error(`${what} expects (str, encoding)`);
  }
  const enc = encoding.toLowerCase();
  if (UTF8.has(enc)) return encodeUtf8(text);
  if (!LATIN1.has(enc)) throw new Error(`${what}: unsupported encoding "${encoding}"`);
  const bytes = encodeLatin1(text);
  if (bytes === undefined) throw new Error(`${what}: text has characters outside latin-1`);
  return bytes;
}

function toSet(args: PyValue[], what: string): Set<PyValue> {
  if (args.length > 1) throw new Error(`${what} takes at most one argument`);
  return new Set(args.length === 0 ? [] : items(args[0], what));
}

function toComplex(args: PyValue[]): PyComplex {
  const [re = 0, im = 0] = args.map((a) => pyNumber(a));
  if (args.length > 2 || re === undefined || im === undefined) throw new Error("complex expects (real, imag)");
  return new PyComplex(re, im);
}

function toMap(args: PyValue[]): Map<PyValue, PyValue> {
  const map = new Map<PyValue, PyValue>();
  if (args.length > 1) throw new Error("OrderedDict takes at most one argument");
  if (args.length === 1) {
    for (const pair of items(args[0], "OrderedDict")) {
      const kv = items(pair, "OrderedDict item");
      if (kv.length !== 2) throw new Error("OrderedDict items must be pairs");
      map.set(kv[0], kv[1]);
    }
  }
  return map;
}

const set: GlobalHandler = { call: (args) => toSet(args, "set") };
const frozenset: GlobalHandler = { call: (args) => toSet(args, "frozenset") };
const bytearray: GlobalHandler = {
  call(args) {
    if (args.length === 0) return new PyByteArray(new Uint8Array(0));
    if (args.length === 2 || typeof args[0] === "string") return new PyByteArray(encodeText(args, "bytearray"));
    if (args.length === 1) return new PyByteArray(byteValues(args[0], "bytearray"));
    throw new Error("bytearray takes at most two arguments");
  },
};
const bytes: GlobalHandler = {
  call(args) {
    if (args.length === 0) return new Uint8Array(0);
    if (args.length === 1) return byteValues(args[0], "bytes");
    throw new Error("bytes takes at most one argument");
  },
};
const complex: GlobalHandler = { call: toComplex, construct: toComplex };

/**
 * The only globals a pickle may name without the caller's resolver, keyed `module.name`. Python 2 spells
 * `builtins` as `__builtin__` in protocol 2 streams, so both spellings are listed.
 */
export const BUILTIN_GLOBALS: ReadonlyMap<string, GlobalHandler> = new Map<string, GlobalHandler>([
  ["collections.OrderedDict", { call: toMap }],
  ["_codecs.encode", { call: (args) => encodeText(args, "_codecs.encode") }],
  ...["builtins", "__builtin__"].flatMap((module) =>
    Object.entries({ set, frozenset, bytearray, bytes, complex }).map(
      ([name, handler]) => [`${module}.${name}`, handler] as [string, GlobalHandler],
    )
  ),
]);
