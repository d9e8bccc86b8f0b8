import { describe, expect, it } from "vitest";
import {
  decodePickle,
  encodePickle,
  type GlobalHandler,
  PyFloat,
  type PyValue,
  SETSTATE,
  tuple,
} from "../../src/pickle/mod.ts";

const text = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => typeof p === "string" ? text(p) : [p]));

/** Real torch 1.13 data.pkl bytes for BYTE_IO values (FORMATS.md 5.3), which CPython also writes today. */
const TORCH_BYTE_IO: [string, PyValue, Uint8Array][] = [
  ["0.0008", 0.0008, bytes(0x80, 0x02, 0x47, 0x3f, 0x4a, 0x36, 0xe2, 0xeb, 0x1c, 0x43, 0x2d, 0x2e)],
  [
    "(0.9, 0.95)",
    tuple(0.9, 0.95),
    bytes(
      0x80,
      2,
      0x47,
      0x3f,
      0xec,
      0xcc,
      0xcc,
      0xcc,
      0xcc,
      0xcc,
      0xcd,
      0x47,
      0x3f,
      0xee,
      0x66,
      0x66,
      0x66,
      0x66,
      0x66,
      0x66,
      0x86,
      0x71,
      0,
      0x2e,
    ),
  ],
  ["True", true, bytes(0x80, 2, 0x88, 0x2e)],
  ["None", null, bytes(0x80, 2, 0x4e, 0x2e)],
  ['"adamw"', "adamw", bytes(0x80, 2, 0x58, 5, 0, 0, 0, "adamw", 0x71, 0, 0x2e)],
  [
    'b"\\x80\\x04abc"',
    bytes(0x80, 4, "abc"),
    bytes(
      0x80,
      2,
      0x63,
      "_codecs\nencode\n",
      0x71,
      0,
      0x58,
      6,
      0,
      0,
      0,
      0xc2,
      0x80,
      4,
      "abc",
      0x71,
      1,
      0x58,
      6,
      0,
      0,
      0,
      "latin1",
      0x71,
      2,
      0x86,
      0x71,
      3,
      0x52,
      0x71,
      4,
      0x2e,
    ),
  ],
  [
    "[0.1, 0.2]",
    [0.1, 0.2],
    bytes(
      0x80,
      2,
      0x5d,
      0x71,
      0,
      0x28,
      0x47,
      0x3f,
      0xb9,
      0x99,
      0x99,
      0x99,
      0x99,
      0x99,
      0x9a,
      0x47,
      0x3f,
      0xc9,
      0x99,
      0x99,
      0x99,
      0x99,
      0x99,
      0x9a,
      0x65,
      0x2e,
    ),
  ],
  ['{"a": 1}', new Map([["a", 1]]), bytes(0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, "a", 0x71, 1, 0x4b, 1, 0x73, 0x2e)],
  ["2**40", 2 ** 40, bytes(0x80, 2, 0x8a, 6, 0, 0, 0, 0, 0, 1, 0x2e)],
  ["-3", -3, bytes(0x80, 2, 0x4a, 0xfd, 0xff, 0xff, 0xff, 0x2e)],
  ["70000", 70000, bytes(0x80, 2, 0x4a, 0x70, 0x11, 1, 0, 0x2e)],
];

describe("torch BYTE_IO pickles", () => {
  for (const [label, value, pickle] of TORCH_BYTE_IO) {
    it(`encodePickle() writes ${label} as torch.save does`, () => {
      expect(encodePickle(value, { protocol: 2 })).toEqual(pickle);
    });
    it(`decodePickle() reads ${label} from torch.save bytes`, () => {
      expect(decodePickle(pickle)).toEqual(value);
    });
  }
});

describe("decodePickle() opcodes", () => {
  it("decodePickle() keeps integral floats as PyFloat and others as number", () => {
    expect(decodePickle(bytes(0x80, 2, 0x47, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x2e))).toEqual(new PyFloat(2));
  });

  it("decodePickle() reads LONG1 beyond 2^53 as bigint and negative LONG4 in two's complement", () => {
    expect(decodePickle(bytes(0x80, 2, 0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e))).toBe(-(2n ** 63n));
    expect(decodePickle(bytes(0x80, 2, 0x8b, 2, 0, 0, 0, 0xff, 0x7f, 0x2e))).toBe(0x7fff);
    expect(decodePickle(bytes(0x80, 2, 0x8a, 0, 0x2e))).toBe(0);
  });

  it("decodePickle() supports DUP, POP, POP_MARK, LIST, DICT and TUPLE text opcodes", () => {
    // MARK K1 K2 POP_MARK  N DUP TUPLE2  MARK K3 LIST  MARK "a" K4 DICT  POP  TUPLE2 STOP
    const pickle = bytes(
      0x80,
      2,
      0x28,
      0x4b,
      1,
      0x4b,
      2,
      0x31,
      0x4e,
      0x32,
      0x86,
      0x28,
      0x4b,
      3,
      0x6c,
      0x28,
      0x55,
      1,
      "a",
      0x4b,
      4,
      0x64,
      0x30,
      0x86,
      0x2e,
    );
    expect(decodePickle(pickle)).toEqual(tuple(tuple(null, null), [3]));
    const dict = bytes(0x80, 2, 0x28, 0x55, 1, "a", 0x4b, 4, 0x64, 0x2e);
    expect(decodePickle(dict)).toEqual(new Map([["a", 4]]));
  });

  it("decodePickle() calls a handler for REDUCE and NEWOBJ and pushes a bare global as the handler", () => {
    const dtype = { dtype: "float32" };
    const size: GlobalHandler = { call: (args) => ({ size: args[0] }) };
    const record: GlobalHandler = { construct: (args) => ({ args }) };
    const table: Record<string, object> = { "torch.float32": dtype, "torch.Size": size, "m.Rec": record };
    const globals = (m: string, n: string) => table[`${m}.${n}`];
    // STACK_GLOBAL torch.float32 ; GLOBAL torch Size (K2 K3 TUPLE2) TUPLE1 REDUCE ; GLOBAL m Rec EMPTY_TUPLE NEWOBJ ; TUPLE3
    const pickle = bytes(
      0x80,
      4,
      0x8c,
      5,
      "torch",
      0x8c,
      7,
      "float32",
      0x93,
      0x63,
      "torch\nSize\n",
      0x4b,
      2,
      0x4b,
      3,
      0x86,
      0x85,
      0x52,
      0x63,
      "m\nRec\n",
      0x29,
      0x81,
      0x87,
      0x2e,
    );
    const [d, s, r] = (decodePickle(pickle, { globals }) as ReturnType<typeof tuple>).items;
    expect(d).toBe(dtype);
    expect(s).toEqual({ size: tuple(2, 3) });
    expect(r).toEqual({ args: [] });
  });

  it("decodePickle() hands BUILD state to SETSTATE and ignores it on an OrderedDict", () => {
    const built: PyValue[] = [];
    const cls: GlobalHandler = { construct: () => ({ [SETSTATE]: (state: PyValue) => built.push(state) }) };
    const globals = (m: string) => m === "m" ? cls : undefined;
    // GLOBAL m C  EMPTY_TUPLE NEWOBJ  K7 BUILD  POP ; GLOBAL collections OrderedDict EMPTY_TUPLE REDUCE  EMPTY_DICT BUILD
    const pickle = bytes(
      0x80,
      2,
      0x63,
      "m\nC\n",
      0x29,
      0x81,
      0x4b,
      7,
      0x62,
      0x30,
      0x63,
      "collections\nOrderedDict\n",
      0x29,
      0x52,
      0x7d,
      0x62,
      0x2e,
    );
    expect(decodePickle(pickle, { globals })).toEqual(new Map());
    expect(built).toEqual([7]);
  });

  it("decodePickle() passes BINPERSID and PERSID ids to persistentLoad", () => {
    const pids: PyValue[] = [];
    const persistentLoad = (pid: PyValue) => (pids.push(pid), `loaded ${pids.length}`);
    const pickle = bytes(0x80, 2, 0x55, 1, "0", 0x85, 0x51, 0x50, "key\n", 0x86, 0x2e);
    expect(decodePickle(pickle, { persistentLoad })).toEqual(tuple("loaded 1", "loaded 2"));
    expect(pids).toEqual([tuple("0"), "key"]);
  });

  it("decodePickle() reads sets, frozensets, NEWOBJ_EX without kwargs and BYTEARRAY8", () => {
    const pickle = bytes(
      0x80,
      5,
      0x28,
      0x8f,
      0x28,
      0x4b,
      1,
      0x90,
      0x28,
      0x4b,
      2,
      0x91,
      0x63,
      "builtins\ncomplex\n",
      0x4b,
      1,
      0x4b,
      2,
      0x86,
      0x7d,
      0x92,
      0x96,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xff,
      0x74,
      0x2e,
    );
    const [s, f, c, b] = (decodePickle(pickle) as ReturnType<typeof tuple>).items;
    expect(s).toEqual(new Set([1]));
    expect(f).toEqual(new Set([2]));
    expect(c).toMatchObject({ re: 1, im: 2 });
    expect(b).toMatchObject({ bytes: Uint8Array.of(0xff) });
  });

  it("decodePickle() decodes surrogatepass UTF-8 into lone surrogates", () => {
    expect(decodePickle(bytes(0x80, 4, 0x8c, 3, 0xed, 0xa0, 0x80, 0x2e))).toBe("\ud800");
    expect(encodePickle("\ud800", { protocol: 4 })).toEqual(
      bytes(0x80, 4, 0x95, 7, 0, 0, 0, 0, 0, 0, 0, 0x8c, 3, 0xed, 0xa0, 0x80, 0x94, 0x2e),
    );
  });
});
