import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  BUILTIN_GLOBALS,
  decodePickle,
  encodePickle,
  PyByteArray,
  PyComplex,
  PyFloat,
  PyGlobal,
  PyObject,
  PyReduce,
  type PyValue,
  tuple,
} from "../../src/pickle/mod.ts";
import type {} from "../global_setup.ts"; // declares inject("python")
import { fromHex, reflectGlobals, reflectPersistent, toHex } from "./reflect.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The JavaScript twin of each value in py/cpython_cases.py; `encode: false` for shapes we only read. */
function cases(): Record<string, { value: PyValue; encode: boolean }> {
  const blob = Uint8Array.from(range(256));
  const shared = tuple(1, "shared");
  const oneTwo = tuple(1, 2); // CPython folds equal tuple constants into one object
  const vec = new PyReduce(new PyGlobal("__main__", "make_vec"), tuple(1, 2, "x"));
  const rec = new PyObject(new PyGlobal("__main__", "Rec"), new Map<PyValue, PyValue>([["alpha", 1], ["beta", "x"]]));
  const names = range(300).map((i) => `s${i}`);
  const all: Record<string, PyValue> = {
    scalars: [
      null,
      true,
      false,
      0,
      1,
      255,
      256,
      65535,
      65536,
      -1,
      -256,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2n ** 53n,
      2n ** 63n,
      -(2n ** 63n),
      2n ** 64n + 5n,
      -(2n ** 100n),
      2n ** 2100n,
      -(2n ** 2100n),
      0.5,
      -1.25,
      new PyFloat(1),
      new PyFloat(0),
      new PyFloat(-0),
      new PyFloat(1e300),
      Infinity,
      -Infinity,
      1e-310,
    ],
    strings: [
      "",
      "a",
      "hello",
      "\u00e9",
      "\u65e5\u672c\u8a9e",
      "\u{1F600}",
      "x".repeat(300),
      "\x00nul",
      "lone \ud800 surrogate",
      "\ufeffbom",
    ],
    bytes: [new Uint8Array(0), ascii("a"), "a", Uint8Array.of(0, 0x80, 0xff), blob, blob, ascii("latin1")],
    containers: new Map<PyValue, PyValue>([
      ["k", [1, tuple(2, 3), new Map([["z", null]])]],
      ["t0", tuple()],
      ["t1", tuple(1)],
      ["t2", oneTwo],
      ["t3", tuple(1, 2, 3)],
      ["t4", tuple(1, 2, 3, 4)],
      ["el", []],
      ["one", [7]],
      ["ed", new Map()],
      ["od", new Map([["q", 1]])],
      [5, "int key"],
      [oneTwo, "tuple key"],
      ["nested", [[[[]]]]],
    ]),
    batches: [
      range(1001),
      new Map(range(1000).map((i) => [`k${i}`, i])),
      new Map(range(1001).map((i) => [`j${i}`, i])),
      range(1000),
    ],
    memo_long: [names, [...names].reverse(), names],
    shared: new Map<PyValue, PyValue>([["x", shared], ["y", shared], ["z", [shared, shared]], ["w", "shared"]]),
    set: new Set([1, 2, 3]),
    objects: [vec, rec, vec, new PyObject(new PyGlobal("__main__", "Rec"))],
    bytearray_complex: [
      new PyByteArray(ascii("ab")),
      new PyByteArray(new Uint8Array(0)),
      new PyComplex(1, 2),
      new PyComplex(0.5, -0),
    ],
    frames: [
      "a",
      "y".repeat(70000),
      "b",
      range(1500).map((i) => "z".repeat(100) + i),
      new Uint8Array(70000).fill(0x71),
    ],
    frozenset: new Set([4]),
    ordered_dict: new Map<PyValue, PyValue>([["a", 1], ["b", [2]]]),
  };
  const readOnly = new Set(["frozenset", "ordered_dict"]);
  return Object.fromEntries(Object.entries(all).map(([k, value]) => [k, { value, encode: !readOnly.has(k) }]));
}

const script = fileURLToPath(new URL("./py/cpython_cases.py", import.meta.url));
let dir: string;
let cpython: Record<string, Record<string, string>> & { torch_data_pkl: string; dcp_metadata: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "webdcp-pickle-"));
  execFileSync(inject("python"), [script, dir], { stdio: "pipe" });
  cpython = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Objects keep the `__main__` globals as PyReduce/PyObject; builtins go through the real allow-list. */
const mainOnly = reflectGlobals((qualified) => BUILTIN_GLOBALS.has(qualified));

describe("encodePickle() matches CPython byte for byte", () => {
  for (const [name, { value, encode }] of Object.entries(cases())) {
    if (!encode) continue;
    for (const protocol of [2, 4] as const) {
      it(`encodePickle() writes "${name}" at protocol ${protocol} exactly as pickle.dumps does`, () => {
        expect(toHex(encodePickle(value, { protocol }))).toBe(cpython[name][protocol]);
      });
    }
  }
});

describe("decodePickle() reads CPython pickles", () => {
  for (const [name, { value }] of Object.entries(cases())) {
    for (const protocol of [2, 3, 4, 5]) {
      it(`decodePickle() reads "${name}" pickled by CPython at protocol ${protocol}`, () => {
        const decoded = decodePickle(fromHex(cpython[name][protocol]), { globals: mainOnly });
        expect(decoded).toEqual(value);
      });
    }
  }
});

describe("real torch files survive decode -> encode unchanged", () => {
  it("decodePickle() + encodePickle(protocol 2) reproduce a real torch.save data.pkl", () => {
    const bytes = fromHex(cpython.torch_data_pkl);
    const value = decodePickle(bytes, { globals: reflectGlobals(), persistentLoad: reflectPersistent });
    expect(value).toBeInstanceOf(Map);
    expect([...(value as Map<PyValue, PyValue>).keys()]).toEqual(["w", "b"]);
    expect(toHex(encodePickle(value, { protocol: 2 }))).toBe(cpython.torch_data_pkl);
  });

  it("encodePickle(protocol 4) rewrites a real DCP .metadata into a pickle CPython loads as an equal Metadata", () => {
    // Byte equality is out of reach here: CPython memoizes strings by identity and this file holds two
    // distinct "torch" str objects, while encodePickle() shares equal strings through one memo slot.
    const value = decodePickle(fromHex(cpython.dcp_metadata), { globals: reflectGlobals() });
    expect(value).toBeInstanceOf(PyObject);
    expect((value as PyObject).cls.name).toBe("Metadata");
    const encoded = encodePickle(value, { protocol: 4 });
    expect(decodePickle(encoded, { globals: reflectGlobals() })).toEqual(value);
    writeFileSync(join(dir, "original.metadata"), fromHex(cpython.dcp_metadata));
    writeFileSync(join(dir, "ours.metadata"), encoded);
    const verdict = execFileSync(inject("python"), [
      script,
      "--equal",
      join(dir, "original.metadata"),
      join(dir, "ours.metadata"),
    ], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(verdict.trim()).toBe("equal");
  });
});
