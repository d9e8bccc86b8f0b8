import { describe, expect, it } from "vitest";
import { pyEqual } from "../../src/pickle/mod.ts";
import { PyFloat, PyTuple, tuple } from "../../src/pickle/value.ts";

describe("pyEqual()", () => {
  it("compares values structurally with Python types kept apart", () => {
    expect(
      pyEqual(
        new Map([["lr", 3e-4], ["betas", tuple(0.9, 0.95)]]),
        new Map([["betas", tuple(0.9, 0.95)], ["lr", 3e-4]]),
      ),
    )
      .toBe(true);
    expect(pyEqual(1, new PyFloat(1))).toBe(false);
    expect(pyEqual(NaN, NaN)).toBe(true);
    expect(pyEqual([1, 2], tuple(1, 2))).toBe(false);
    expect(pyEqual(new Set([1, 2]), new Set([2, 1]))).toBe(true);
    expect(pyEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
  });

  it("terminates on cyclic values", () => {
    const a: unknown[] = [];
    a.push(a);
    const b: unknown[] = [];
    b.push(b);
    expect(pyEqual(a, b)).toBe(true);
    expect(pyEqual(a, [[1]])).toBe(false);
  });

  it("compares shared sub-values once, so 2^40 paths cost 40 steps", () => {
    let x: unknown = null, y: unknown = null;
    for (let i = 0; i < 40; i++) {
      x = new PyTuple([x, x]);
      y = new PyTuple([y, y]);
    }
    expect(pyEqual(x, y, 1000)).toBe(true);
  });

  it("compares nesting 100k deep with its own stack: equal, and unequal at the bottom", () => {
    const nest = (leaf: unknown) => {
      let v = leaf;
      for (let i = 0; i < 100_000; i++) v = i % 2 ? [v] : new Map([["k", v]]);
      return v;
    };
    expect(pyEqual(nest(1), nest(1))).toBe(true);
    expect(pyEqual(nest(1), nest(2))).toBe(false);
  });

  it("gives up (undefined) when the comparison takes more steps than its budget", () => {
    expect(pyEqual([1, 2, 3, 4], [1, 2, 3, 4], 3)).toBeUndefined();
    expect(pyEqual([1, 2, 3, 4], [1, 2, 3, 4], 5)).toBe(true);
  });

  it("a pair found unequal while matching set elements stays unequal when compared again", () => {
    const p = tuple(1), r = tuple(2), q = tuple(2), s = tuple(1);
    // Matching p against {q, s} tries (p, q) first and fails; the lists' second items are that same pair.
    expect(pyEqual([new Set([p, r]), p], [new Set([q, s]), q])).toBe(false);
    expect(pyEqual([new Set([p, r]), p], [new Set([q, s]), s])).toBe(true);
  });
});
