import { describe, expect, it } from "vitest";
import { PickleError } from "../../src/errors/mod.ts";
import { type DecodeOptions, decodePickle, encodePickle, type PyValue, tuple } from "../../src/pickle/mod.ts";
import { reflectGlobals, reflectPersistent } from "./reflect.ts";

const text = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => typeof p === "string" ? text(p) : [p]));

/** Real `torch.save(torch.arange(6.).reshape(2, 3))` data.pkl (FORMATS.md 5.4). */
const TORCH_DATA_PKL = Uint8Array.from(
  ("80 02 63 74 6f 72 63 68 2e 5f 75 74 69 6c 73 0a 5f 72 65 62 75 69 6c 64 5f 74 65 6e 73 6f 72 5f " +
    "76 32 0a 71 00 28 28 58 07 00 00 00 73 74 6f 72 61 67 65 71 01 63 74 6f 72 63 68 0a 46 6c 6f 61 " +
    "74 53 74 6f 72 61 67 65 0a 71 02 58 01 00 00 00 30 71 03 58 03 00 00 00 63 70 75 71 04 4b 06 74 " +
    "71 05 51 4b 00 4b 02 4b 03 86 71 06 4b 03 4b 01 86 71 07 89 63 63 6f 6c 6c 65 63 74 69 6f 6e 73 " +
    "0a 4f 72 64 65 72 65 64 44 69 63 74 0a 71 08 29 52 71 09 74 71 0a 52 71 0b 2e").split(" ").map((h) =>
      parseInt(h, 16)
    ),
);

function failure(pickle: Uint8Array, options?: DecodeOptions): PickleError {
  try {
    decodePickle(pickle, options);
  } catch (e) {
    expect(e).toBeInstanceOf(PickleError);
    return e as PickleError;
  }
  throw new Error("decodePickle() accepted the input");
}

describe("decodePickle() on truncated input", () => {
  const framed = encodePickle(
    new Map<PyValue, PyValue>([["k", [1, 2.5, "x".repeat(300), 2n ** 70n]], ["t", tuple(1, 2, 3, 4)]]),
    { protocol: 4 },
  );
  for (
    const [label, pickle] of [["a real torch data.pkl", TORCH_DATA_PKL], [
      "a framed protocol 4 pickle",
      framed,
    ]] as const
  ) {
    it(`decodePickle() rejects every proper prefix of ${label} with E_TRUNCATED`, () => {
      const options = { globals: reflectGlobals(), persistentLoad: reflectPersistent, path: "x/data.pkl" };
      expect(() => decodePickle(pickle, options)).not.toThrow();
      for (let n = 0; n < pickle.length; n++) {
        const e = failure(pickle.subarray(0, n), options);
        expect(e.code).toBe("E_TRUNCATED");
        expect(e.path).toBe("x/data.pkl");
        expect(e.offset).toBeLessThanOrEqual(n);
      }
    });
  }

  it("decodePickle() rejects a BINUNICODE8 that claims 2^60 bytes before allocating", () => {
    const e = failure(bytes(0x80, 4, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x10, "abc", 0x2e));
    expect(e.code).toBe("E_TRUNCATED");
    expect(e.offset).toBe(2);
    expect(e.message).toContain("BINUNICODE8");
  });

  it("decodePickle() rejects BINBYTES8, BYTEARRAY8 and FRAME lengths past the end of the input", () => {
    for (const op of [0x8e, 0x96, 0x95]) {
      expect(failure(bytes(0x80, 5, op, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x4e, 0x2e)).code).toBe(
        "E_TRUNCATED",
      );
    }
  });

  it("decodePickle() rejects a GLOBAL whose name line never ends", () => {
    expect(failure(bytes(0x80, 2, 0x63, "os\nsystem")).code).toBe("E_TRUNCATED");
  });
});

describe("decodePickle() refuses globals outside the allow-list", () => {
  const attacks: [string, Uint8Array][] = [
    ["os.system", bytes(0x80, 2, 0x63, "os\nsystem\n", 0x58, 2, 0, 0, 0, "ls", 0x85, 0x52, 0x2e)],
    ["posix.system", bytes(0x80, 4, 0x8c, 5, "posix", 0x8c, 6, "system", 0x93, 0x8c, 2, "ls", 0x85, 0x52, 0x2e)],
    ["os.system", bytes(0x80, 4, 0x8c, 2, "os", 0x94, 0x8c, 6, "system", 0x94, 0x93, 0x8c, 2, "ls", 0x85, 0x52, 0x2e)],
    ["builtins.eval", bytes(0x80, 2, 0x63, "builtins\neval\n", 0x58, 1, 0, 0, 0, "1", 0x85, 0x52, 0x2e)],
    ["subprocess.Popen", bytes(0x80, 4, 0x8c, 10, "subprocess", 0x8c, 5, "Popen", 0x93, 0x29, 0x81, 0x2e)],
    ["builtins.getattr", bytes(0x80, 2, 0x63, "__builtin__\ngetattr\n", 0x2e)],
  ];
  for (const [name, pickle] of attacks) {
    it(`decodePickle() rejects ${name} (${pickle[1] === 2 ? "GLOBAL" : "STACK_GLOBAL"}) naming it, without calling anything`, () => {
      const asked: string[] = [];
      const globals = (m: string, n: string) => (asked.push(`${m}.${n}`), undefined);
      const e = failure(pickle, { globals, path: "evil.pkl", baseOffset: 1000 });
      expect(e.code).toBe("E_PICKLE_GLOBAL");
      expect(e.message).toContain(name.replace("builtins.getattr", "__builtin__.getattr"));
      expect(e.message).toContain("evil.pkl");
      expect(e.offset).toBeGreaterThanOrEqual(1000);
      expect(asked).toHaveLength(1);
    });
  }
});

describe("decodePickle() on malformed streams", () => {
  it("decodePickle() rejects an unknown opcode with its offset", () => {
    const e = failure(bytes(0x80, 2, 0x4e, 0xff, 0x2e), { baseOffset: 64 });
    expect(e.code).toBe("E_PICKLE_OPCODE");
    expect(e.offset).toBe(67);
    expect(e.message).toContain("0xff");
  });

  it("decodePickle() rejects protocol 5 out-of-band buffers as unsupported opcodes", () => {
    expect(failure(bytes(0x80, 5, 0x97, 0x2e)).code).toBe("E_PICKLE_OPCODE");
  });

  it("decodePickle() rejects a memo index that was never stored", () => {
    const e = failure(bytes(0x80, 2, 0x4e, 0x71, 0, 0x68, 5, 0x2e));
    expect(e.code).toBe("E_PICKLE");
    expect(e.message).toContain("memo index 5");
    expect(failure(bytes(0x80, 2, 0x6a, 0xff, 0xff, 0xff, 0xff, 0x2e)).code).toBe("E_PICKLE");
  });

  it("decodePickle() caps the memo at maxMemoEntries", () => {
    const e = failure(bytes(0x80, 4, 0x4e, 0x94, 0x94, 0x94, 0x2e), { maxMemoEntries: 2 });
    expect(e.code).toBe("E_PICKLE");
  });

  it("decodePickle() rejects stack underflow, a missing MARK and odd SETITEMS", () => {
    expect(failure(bytes(0x80, 2, 0x5d, 0x61, 0x2e)).message).toContain("underflow");
    expect(failure(bytes(0x80, 2, 0x74, 0x2e)).message).toContain("MARK");
    expect(failure(bytes(0x80, 2, 0x7d, 0x28, 0x4e, 0x75, 0x2e)).message).toContain("odd");
    expect(failure(bytes(0x80, 2, 0x2e)).message).toContain("underflow");
  });

  it("decodePickle() refuses REDUCE and NEWOBJ on values that are not globals", () => {
    expect(failure(bytes(0x80, 2, 0x5d, 0x29, 0x52, 0x2e)).message).toContain("not a global");
    expect(failure(bytes(0x80, 2, 0x58, 4, 0, 0, 0, "call", 0x29, 0x81, 0x2e)).message).toContain("not a global");
  });

  it("decodePickle() refuses a global that has no call method, and non-tuple arguments", () => {
    expect(failure(bytes(0x80, 2, 0x63, "_codecs\nencode\n", 0x29, 0x81, 0x2e)).message).toContain(
      "cannot be constructed",
    );
    expect(failure(bytes(0x80, 2, 0x63, "builtins\nset\n", 0x5d, 0x52, 0x2e)).message).toContain("not a tuple");
  });

  it("decodePickle() turns a failing allow-listed call into E_PICKLE at the REDUCE offset", () => {
    const e = failure(
      bytes(
        0x80,
        2,
        0x63,
        "_codecs\nencode\n",
        0x58,
        2,
        0,
        0,
        0,
        0xc4,
        0x80,
        0x58,
        6,
        0,
        0,
        0,
        "latin1",
        0x86,
        0x52,
        0x2e,
      ),
    );
    expect(e.code).toBe("E_PICKLE");
    expect(e.offset).toBe(37);
    expect(e.message).toContain("_codecs.encode");
  });

  it("decodePickle() rejects BUILD on a value without SETSTATE", () => {
    expect(failure(bytes(0x80, 2, 0x5d, 0x7d, 0x62, 0x2e)).message).toContain("accepts no state");
  });

  it("decodePickle() rejects persistent ids without persistentLoad and NEWOBJ_EX keyword arguments", () => {
    expect(failure(bytes(0x80, 2, 0x4b, 1, 0x51, 0x2e)).message).toContain("persistentLoad");
    const kwargs = bytes(0x80, 4, 0x63, "builtins\ncomplex\n", 0x29, 0x7d, 0x4e, 0x4e, 0x73, 0x92, 0x2e);
    expect(failure(kwargs).message).toContain("keyword");
  });

  it("decodePickle() rejects invalid UTF-8, a negative LONG4 length and an unknown protocol", () => {
    expect(failure(bytes(0x80, 4, 0x8c, 2, 0xc3, 0x28, 0x2e)).message).toContain("UTF-8");
    expect(failure(bytes(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0xff, 0x2e)).message).toContain("negative");
    expect(failure(bytes(0x80, 6, 0x4e, 0x2e)).message).toContain("protocol 6");
  });
});

describe("decodePickle() on deep nesting", () => {
  const depth = 100_000;
  const nestedByMarks = new Uint8Array(2 + 2 * depth + 1);
  nestedByMarks.set([0x80, 2]);
  nestedByMarks.fill(0x28, 2, 2 + depth);
  nestedByMarks.fill(0x6c, 2 + depth, 2 + 2 * depth);
  nestedByMarks[nestedByMarks.length - 1] = 0x2e;

  const nestedByAppend = new Uint8Array(2 + 2 * depth);
  nestedByAppend.set([0x80, 2]);
  nestedByAppend.fill(0x5d, 2, 2 + depth);
  nestedByAppend.fill(0x61, 2 + depth, 1 + 2 * depth);
  nestedByAppend[nestedByAppend.length - 1] = 0x2e;

  const depthOf = (v: PyValue) => {
    let d = 0;
    for (let cur = v; Array.isArray(cur) && cur.length > 0; cur = cur[0]) d++;
    return d;
  };

  it("decodePickle() builds 100k nested lists from MARK ... LIST without overflowing the call stack", () => {
    expect(depthOf(decodePickle(nestedByMarks))).toBe(depth - 1);
  });

  it("decodePickle() builds 100k nested lists from EMPTY_LIST ... APPEND", () => {
    expect(depthOf(decodePickle(nestedByAppend))).toBe(depth - 1);
  });

  it("decodePickle() stops at maxStackDepth with a typed error", () => {
    expect(failure(nestedByMarks, { maxStackDepth: 1000 }).message).toContain("1000 open marks");
    expect(failure(nestedByAppend, { maxStackDepth: 1000 }).message).toContain("deeper than 1000");
  });
});
