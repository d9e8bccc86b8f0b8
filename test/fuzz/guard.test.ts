import { describe, expect, it } from "vitest";
import { FormatError, PickleError, WebdcpError } from "../../src/errors/mod.ts";
import { checkPyValue, checkTensor, checkTypedError, guarded } from "./guard.ts";
import { applyMutations } from "./mutate.ts";

/** The referee must be able to fail, or the fuzz proves nothing. */
describe("the fuzz referee", () => {
  it("guarded() returns a typed error that names its file", async () => {
    const out = await guarded(
      10,
      () => Promise.reject(new FormatError("E_TRUNCATED", "short", { path: "a.pt", offset: 3 })),
    );
    expect(out).toMatchObject({ ok: false, error: { code: "E_TRUNCATED", path: "a.pt" } });
  });

  it("guarded() fails on an untyped TypeError, a typed error without a path, and a typed error wrapping a crash", async () => {
    await expect(guarded(10, () => (undefined as unknown as { x: number }).x)).rejects.toThrow(/untyped TypeError/);
    await expect(guarded(10, () => Promise.reject(new FormatError("E_ZIP", "bad")))).rejects.toThrow(/no path/);
    const crash = new RangeError("Invalid typed array length: 68719476736");
    const wrapped = new PickleError("E_PICKLE", "handler failed", { path: "x", offset: 0, cause: crash });
    await expect(guarded(10, () => Promise.reject(wrapped))).rejects.toThrow(/wraps a crash/);
    const unlisted = new WebdcpError("E_NOPE" as "E_ZIP", "made up", { path: "x" });
    expect(() => checkTypedError(unlisted)).toThrow(/unlisted code/);
  });

  it("guarded() fails on a reader that never settles and on one that blocks past its budget", async () => {
    await expect(guarded(10, () => new Promise(() => {}), 50)).rejects.toThrow(/hang/);
    const spin = () => {
      const until = performance.now() + 200;
      while (performance.now() < until);
      return 1;
    };
    await expect(guarded(10, spin, 20)).rejects.toThrow(/hang/);
  });

  it("guarded() fails on a reader that allocates far more than its input", async () => {
    await expect(guarded(10, () => new Uint8Array(64 << 20))).rejects.toThrow(/memory grew/);
  });

  it("checkTensor() rejects inconsistent and inflated tensors; checkPyValue() rejects values outside the model", () => {
    expect(() => checkTensor({ dtype: "float32", shape: [2], data: new Uint8Array(7) }, 100, "t")).toThrow(/7 bytes/);
    expect(() => checkTensor({ dtype: "float32", shape: [100], data: new Uint8Array(400) }, 10, "t")).toThrow(
      /from a 10-byte/,
    );
    expect(() => checkPyValue([1, undefined], () => false)).toThrow(/undefined/);
    expect(() => checkPyValue(new Map([["k", () => 1]]), () => false)).toThrow(/function/);
  });

  it("applyMutations() applies splices, decimals and truncation as specified", () => {
    const b = Uint8Array.of(0x31, 0x32, 0, 0, 0, 0, 9);
    expect(applyMutations(b, [{ op: "splice", at: 2, width: 4, value: 0x1_0000_0102n }])).toEqual(
      Uint8Array.of(0x31, 0x32, 2, 1, 0, 0, 9),
    );
    expect(applyMutations(b, [{ op: "nudge", at: 2, width: 2, delta: -1 }])).toEqual(
      Uint8Array.of(0x31, 0x32, 0xff, 0xff, 0, 0, 9),
    );
    expect(applyMutations(b, [{ op: "decimal", at: 0, digits: 2, value: 7n }])).toEqual(
      Uint8Array.of(0x37, 0, 0, 0, 0, 9),
    );
    expect(applyMutations(b, [{ op: "duplicate", from: 0, length: 2, to: 7 }, { op: "truncate", length: 8 }]))
      .toEqual(Uint8Array.of(0x31, 0x32, 0, 0, 0, 0, 9, 0x31));
  });
});
