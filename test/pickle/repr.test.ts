import { execFileSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import type {} from "../global_setup.ts";
import { decodePickle, pyRepr } from "../../src/pickle/mod.ts";

// Python values whose repr() we must reproduce after a pickle round trip.
const CASES = String.raw`[
  None, True, False, 0, -7, 2**70, 0.0, -0.0, 1.0, 3e-4, 1e-8, 1e-5, 1e-4, 0.1, 1e16, 1.5e16, 123456789.125,
  float("inf"), float("-inf"), float("nan"), (0.9, 0.95), (1,), (), [1, [2, (3,)]], {"lr": 0.0003, "k": [1, 2]},
  "adamw", "it's", 'say "hi"', "tab\there\n", "né", b"\x80\x04abc'", b"", set(), {3}, complex(1, -2), complex(1, float("nan")), complex(2, -0.0), complex(0, 3.5),
  bytearray(b"xy"),
]`;

describe("pyRepr()", () => {
  it("prints decoded values exactly as CPython's repr()", () => {
    const script =
      `import pickle, sys\nvals = ${CASES}\nsys.stdout.buffer.write(pickle.dumps([pickle.dumps(v, 2) for v in vals] + [repr(v) for v in vals], 2))`;
    const out = execFileSync(inject("python"), ["-c", script], { maxBuffer: 1 << 24 });
    const all = decodePickle(new Uint8Array(out)) as unknown[];
    const n = all.length / 2;
    for (let i = 0; i < n; i++) {
      const value = decodePickle(all[i] as Uint8Array);
      expect(pyRepr(value)).toBe(all[n + i]);
    }
  });
});
