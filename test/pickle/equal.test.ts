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

  it("gives up (undefined) on nesting deeper than the stack allows", () => {
    let x: unknown = null, y: unknown = null;
    for (let i = 0; i < 100_000; i++) {
      x = [x];
      y = [y];
    }
    expect(pyEqual(x, y)).toBeUndefined();
  });
});
