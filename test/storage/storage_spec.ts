import { describe, expect, it } from "vitest";
import type { Storage } from "../../src/storage/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

/** Rejects with a WebdcpError carrying `code` (and, when given, the path and offset it names). */
export async function expectCode(
  p: Promise<unknown>,
  code: string,
  where: { path?: string; offset?: number } = {},
): Promise<void> {
  const err = await p.then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(WebdcpError);
  expect((err as WebdcpError).code).toBe(code);
  if (where.path !== undefined) expect((err as WebdcpError).path).toBe(where.path);
  if (where.offset !== undefined) expect((err as WebdcpError).offset).toBe(where.offset);
}

/** Where a backend's platform forces a documented difference from the shared behaviour. */
export interface StorageSpecOptions {
  /**
   * False where the platform invalidates an open file when it is replaced (OPFS): the old source must
   * then fail with E_IO instead of reading the old bytes. Default true.
   */
  openSourceKeepsReplacedBytes?: boolean;
  /**
   * True where folders are only key prefixes (S3): a folder exists while a file lies under it, so a new
   * sink's folder does not exist before `close()` and an emptied folder is gone. Default false.
   */
  implicitFolders?: boolean;
}

/**
 * The behaviour every `Storage` backend must share. `make` returns a fresh, empty storage for each test.
 */
export function describeStorage(name: string, make: () => Promise<Storage>, options: StorageSpecOptions = {}): void {
  describe(`${name}: files`, () => {
    it("writeAll() then readAll() returns the same bytes and stat() reports the size", async () => {
      const s = await make();
      await s.writeAll("a/b/c.bin", bytes(1, 2, 3, 4, 5));
      expect([...await s.readAll("a/b/c.bin")]).toEqual([1, 2, 3, 4, 5]);
      // A storage may add the stored file's version (S3: its ETag).
      expect((await s.stat("a/b/c.bin"))?.size).toBe(5);
      expect((await s.stat("a/./b//c.bin"))?.size).toBe(5);
    });

    it("read() returns an exact range and rejects ranges past the end with E_OUT_OF_RANGE", async () => {
      const s = await make();
      await s.writeAll("f", bytes(10, 11, 12, 13));
      expect([...await s.read("f", 1, 2)]).toEqual([11, 12]);
      expect([...await s.read("f", 4, 0)]).toEqual([]);
      await expectCode(s.read("f", 3, 2), "E_OUT_OF_RANGE", { path: "f", offset: 3 });
      await expectCode(s.read("f", -1, 1), "E_USAGE");
      await expectCode(s.read("f", 0.5, 1), "E_USAGE");
    });

    it("open() gives a source whose reads can repeat in any order until close()", async () => {
      const s = await make();
      await s.writeAll("f", bytes(0, 1, 2, 3, 4, 5, 6, 7));
      const src = await s.open("f");
      expect(src.size).toBe(8);
      expect(src.path).toBe("f");
      const [x, y] = await Promise.all([src.read(6, 2), src.read(0, 3)]);
      expect([...x, ...y]).toEqual([6, 7, 0, 1, 2]);
      await src.close();
      await expectCode(src.read(0, 1), "E_USAGE");
    });

    it("refuses reads above 2 GiB with E_USAGE so callers split them", async () => {
      const s = await make();
      await s.writeAll("f", bytes(1));
      const src = await s.open("f");
      await expectCode(src.read(0, 2 ** 31 + 1), "E_USAGE");
      await src.close();
    });

    it("missing files are E_NOT_FOUND, stat() of a missing file or a folder is undefined", async () => {
      const s = await make();
      await expectCode(s.open("nope.bin"), "E_NOT_FOUND", { path: "nope.bin" });
      await expectCode(s.readAll("x/y"), "E_NOT_FOUND");
      expect(await s.stat("nope.bin")).toBeUndefined();
      await s.writeAll("d/f", bytes(1));
      expect(await s.stat("d")).toBeUndefined();
      expect(await s.stat("d/f/under-a-file")).toBeUndefined();
      await expectCode(s.open("d"), "E_NOT_FOUND");
    });
  });

  describe(`${name}: sinks`, () => {
    it("create() publishes only on close(), with position counting the bytes", async () => {
      const s = await make();
      const sink = await s.create("out/x.bin");
      await sink.write(bytes(1, 2));
      await sink.write(bytes(3));
      expect(sink.position).toBe(3);
      expect(await s.stat("out/x.bin")).toBeUndefined();
      expect(await s.list("out")).toEqual(options.implicitFolders ? undefined : []);
      await sink.close();
      expect([...await s.readAll("out/x.bin")]).toEqual([1, 2, 3]);
      expect(await s.list("out")).toEqual([{ name: "x.bin", kind: "file" }]);
      await expectCode(sink.write(bytes(4)), "E_USAGE");
    });

    it("abort() discards the bytes and leaves an existing file untouched", async () => {
      const s = await make();
      await s.writeAll("keep", bytes(9));
      const sink = await s.create("keep");
      await sink.write(bytes(1, 2, 3));
      await sink.abort();
      expect([...await s.readAll("keep")]).toEqual([9]);
      expect(await s.list("")).toEqual([{ name: "keep", kind: "file" }]);
    });

    const keeps = options.openSourceKeepsReplacedBytes !== false;
    it(`close() replaces an existing file while an open source ${keeps ? "keeps its old bytes" : "fails with E_IO"}`, async () => {
      const s = await make();
      await s.writeAll("f", bytes(1, 1));
      const before = await s.open("f");
      await s.writeAll("f", bytes(2, 2, 2));
      expect([...await s.readAll("f")]).toEqual([2, 2, 2]);
      if (keeps) expect([...await before.read(0, 2)]).toEqual([1, 1]);
      else await expectCode(before.read(0, 2), "E_IO", { path: "f" });
      await before.close();
    });

    it("the caller may reuse its buffer once write() resolves", async () => {
      const s = await make();
      const sink = await s.create("f");
      const buf = bytes(5, 6);
      await sink.write(buf);
      buf.fill(0);
      await sink.close();
      expect([...await s.readAll("f")]).toEqual([5, 6]);
    });

    it("create() refuses a path that is a folder or lies under a file", async () => {
      const s = await make();
      await s.writeAll("d/f", bytes(1));
      await expectCode(s.create("d"), "E_EXISTS");
      await expectCode(s.create("d/f/g"), "E_EXISTS");
    });
  });

  describe(`${name}: folders`, () => {
    it("list() shows files and folders sorted, undefined for a missing folder", async () => {
      const s = await make();
      await s.writeAll("ckpt/b.distcp", bytes(1));
      await s.writeAll("ckpt/a/.metadata", bytes(2));
      await s.writeAll("top", bytes(3));
      expect(await s.list("ckpt")).toEqual([{ name: "a", kind: "dir" }, { name: "b.distcp", kind: "file" }]);
      expect(await s.list("")).toEqual([{ name: "ckpt", kind: "dir" }, { name: "top", kind: "file" }]);
      expect(await s.list("missing")).toBeUndefined();
      expect(await s.list("top")).toBeUndefined();
    });

    it("rename() moves files (replacing the target) and folders, creating parents", async () => {
      const s = await make();
      await s.writeAll("a.tmp", bytes(1));
      await s.writeAll("a", bytes(0));
      await s.rename("a.tmp", "a");
      expect([...await s.readAll("a")]).toEqual([1]);
      await s.writeAll("d/x", bytes(7));
      await s.rename("d", "e/f");
      expect([...await s.readAll("e/f/x")]).toEqual([7]);
      expect(await s.list("d")).toBeUndefined();
      await expectCode(s.rename("gone", "z"), "E_NOT_FOUND");
    });

    it("remove() deletes files, empty folders, and full folders only when recursive", async () => {
      const s = await make();
      await s.writeAll("d/sub/x", bytes(1));
      await s.writeAll("f", bytes(1));
      await s.remove("f");
      expect(await s.stat("f")).toBeUndefined();
      await expectCode(s.remove("d"), "E_USAGE", { path: "d" });
      await s.remove("d/sub/x");
      if (options.implicitFolders) {
        expect(await s.list("d")).toBeUndefined();
        await expectCode(s.remove("d/sub"), "E_NOT_FOUND");
      } else {
        expect(await s.list("d")).toEqual([{ name: "sub", kind: "dir" }]);
        await s.remove("d/sub");
      }
      await s.writeAll("d/y", bytes(1));
      await s.remove("d", { recursive: true });
      expect(await s.list("d")).toBeUndefined();
      await expectCode(s.remove("d"), "E_NOT_FOUND");
      await expectCode(s.remove(""), "E_USAGE");
    });
  });

  describe(`${name}: hostile paths`, () => {
    const hostile = ["../x", "a/../../x", "/etc/passwd", "C:/x", "c:x", "a\\b", "a\0b"];
    for (const p of hostile) {
      it(`every operation rejects ${JSON.stringify(p)} with E_PATH_ESCAPE`, async () => {
        const s = await make();
        await expectCode(s.open(p), "E_PATH_ESCAPE", { path: p });
        await expectCode(s.stat(p), "E_PATH_ESCAPE");
        await expectCode(s.create(p), "E_PATH_ESCAPE");
        await expectCode(s.writeAll(p, bytes(1)), "E_PATH_ESCAPE");
        await expectCode(s.list(p), "E_PATH_ESCAPE");
        await expectCode(s.rename("a", p), "E_PATH_ESCAPE");
        await expectCode(s.remove(p, { recursive: true }), "E_PATH_ESCAPE");
      });
    }

    it("a `..` that stays inside the root is resolved, not rejected", async () => {
      const s = await make();
      await s.writeAll("a/../b", bytes(4));
      expect([...await s.readAll("b")]).toEqual([4]);
    });
  });
}
