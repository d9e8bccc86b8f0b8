import { basename, dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { hostBasename, hostDirname, resolveHostPath } from "../../src/storage/file/mod.ts";

// The command line's paths, as node:path gave them before the CLI stopped loading it (POSIX).
const CWDS = ["/", "/home/u", "/home/u/", "/a/b/c"];
const PATHS = [
  "",
  ".",
  "..",
  "../..",
  "../../../../x",
  "ckpt",
  "ckpt/",
  "./ckpt//step-1/",
  "a/./b/../c",
  "/abs/path",
  "/abs/../..",
  "//double//slash//",
  "model.safetensors",
  "dir/.hidden",
  "...",
  "a/..b/c..",
];

describe("host paths", () => {
  it("resolveHostPath() resolves against the working folder as node:path's resolve() does", () => {
    for (const cwd of CWDS) {
      for (const p of PATHS) expect({ cwd, p, r: resolveHostPath(cwd, p) }).toEqual({ cwd, p, r: resolve(cwd, p) });
    }
  });

  it("hostDirname() and hostBasename() split a resolved path as node:path's dirname() and basename() do", () => {
    for (const cwd of CWDS) {
      for (const p of PATHS) {
        const abs = resolve(cwd, p);
        expect([abs, hostDirname(abs), hostBasename(abs)]).toEqual([abs, dirname(abs), basename(abs)]);
      }
    }
  });
});
