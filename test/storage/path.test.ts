import { describe, expect, it } from "vitest";
import { basename, dirname, joinPath, normalizePath } from "../../src/storage/mod.ts";
import { StorageError } from "../../src/errors/mod.ts";

describe("normalizePath()", () => {
  it("canonicalizes separators, `.` and inner `..`", () => {
    expect(normalizePath("a//b/./c/")).toBe("a/b/c");
    expect(normalizePath("a/x/../b")).toBe("a/b");
    expect(normalizePath("")).toBe("");
    expect(normalizePath(".")).toBe("");
    expect(normalizePath("a/..")).toBe("");
  });

  for (
    const [p, why] of [
      ["..", "leaves"],
      ["a/../../b", "leaves"],
      ["/abs", "absolute"],
      ["C:\\x", "backslash"],
      ["D:rel", "drive"],
      ["a\\..\\b", "backslash"],
      ["ok/\0/x", "NUL"],
    ]
  ) {
    it(`rejects ${JSON.stringify(p)} with E_PATH_ESCAPE naming the path`, () => {
      let err: unknown;
      try {
        normalizePath(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe("E_PATH_ESCAPE");
      expect((err as StorageError).path).toBe(p);
      expect((err as StorageError).message).toContain(why);
    });
  }

  it("keeps hostile control characters out of the one-line message", () => {
    expect(() => normalizePath("\n/../../x")).toThrow(/\\x0a/);
  });
});

describe("joinPath() / dirname() / basename()", () => {
  it("joins and normalizes, never climbing above the root", () => {
    expect(joinPath("ckpt", "step-10", ".metadata")).toBe("ckpt/step-10/.metadata");
    expect(joinPath("", "x")).toBe("x");
    expect(joinPath("a/b", "../c")).toBe("a/c");
    expect(() => joinPath("a", "../../etc")).toThrow(StorageError);
  });

  it("splits a path into folder and name", () => {
    expect(dirname("a/b/c.bin")).toBe("a/b");
    expect(dirname("c.bin")).toBe("");
    expect(basename("a/b/c.bin")).toBe("c.bin");
    expect(basename("")).toBe("");
  });
});
