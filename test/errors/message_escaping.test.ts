import { describe, expect, it } from "vitest";
import { FormatError, StorageError } from "../../src/errors/mod.ts";

describe("error messages", () => {
  it("show control characters of names as \\xNN, so printing e.message cannot drive a terminal", () => {
    const e = new FormatError("E_SAFETENSORS", "tensor 'w\x1b]0;pwned\x07' has a bad shape", {
      path: "m\x9b2J.safetensors",
      offset: 8,
    });
    expect(e.message).toBe(
      "E_SAFETENSORS: tensor 'w\\x1b]0;pwned\\x07' has a bad shape (m\\x9b2J.safetensors @ offset 8)",
    );
    expect(e.detail).toBe("tensor 'w\\x1b]0;pwned\\x07' has a bad shape");
  });

  it("keep the raw file name in `path` and line breaks of multi-line messages", () => {
    const e = new StorageError("E_NOT_FOUND", "first line\nsecond line", { path: "a\x1bb" });
    expect(e.path).toBe("a\x1bb");
    expect(e.detail).toBe("first line\nsecond line");
  });
});
