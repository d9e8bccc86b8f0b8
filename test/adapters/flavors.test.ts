import { describe, expect, it } from "vitest";
import { ffnHiddenDim, LLAMA3_FLAVORS, llama3Flavor } from "../../src/adapters/mod.ts";
import { UsageError } from "../../src/errors/mod.ts";

describe("llama3 flavors", () => {
  it("ffnHiddenDim() follows the 2/3 * 4 * dim, multiplier, round-up rule of FORMATS.md 8.1", () => {
    expect(ffnHiddenDim(256, 256)).toBe(768);
    expect(ffnHiddenDim(4096, 1024, 1.3)).toBe(14336);
    expect(ffnHiddenDim(8192, 4096, 1.3)).toBe(28672);
    expect(ffnHiddenDim(16384, 4096, 1.2)).toBe(53248);
    expect(ffnHiddenDim(2048, 1024, 1.5)).toBe(8192);
    expect(ffnHiddenDim(3072, 1024, 1.0)).toBe(8192);
  });

  it("ffnHiddenDim() truncates before rounding up, as Python's int() does", () => {
    // int(2*4*100/3) = 266, int(1.5 * 266) = 399, rounded up to a multiple of 10 = 400.
    expect(ffnHiddenDim(100, 10, 1.5)).toBe(400);
    expect(ffnHiddenDim(100, 1)).toBe(266);
  });

  it("1B and 3B tie their embeddings; the others do not", () => {
    const tied = Object.values(LLAMA3_FLAVORS).filter((f) => f.weightTying).map((f) => f.name);
    expect(tied).toEqual(["1B", "3B"]);
  });

  it("the attention-backend variants of debugmodel share its architecture", () => {
    const { name: _a, ...debug } = LLAMA3_FLAVORS.debugmodel;
    const { name: _b, ...flex } = LLAMA3_FLAVORS.debugmodel_flex_attn;
    expect(flex).toEqual(debug);
  });

  it("llama3Flavor() rejects an unknown flavor and names the known ones", () => {
    expect(() => llama3Flavor("7B")).toThrow(UsageError);
    expect(() => llama3Flavor("7B")).toThrow(/debugmodel, .*405B/);
    expect(() => llama3Flavor("__proto__")).toThrow(/E_USAGE/);
  });
});
