import { describe, expect, it } from "vitest";
import { OpfsStorage } from "../../mod.ts";
import { expectCode } from "../storage/storage_spec.ts";

/** OPFS-specific behaviour beyond the shared Storage spec; `make` gives a fresh, empty storage. */
export function describeOpfsStorage(make: () => Promise<OpfsStorage>): void {
  describe("OpfsStorage in the browser", () => {
    it("a folder holding an open sink cannot be removed (E_IO, the browser locks it) and the sink still publishes", async () => {
      const s = await make();
      const sink = await s.create("d/x.bin");
      await sink.write(Uint8Array.of(1, 2));
      await expectCode(s.remove("d", { recursive: true }), "E_IO", { path: "d" });
      await sink.close();
      expect([...await s.readAll("d/x.bin")]).toEqual([1, 2]);
      expect(await s.list("d")).toEqual([{ name: "x.bin", kind: "file" }]);
    });

    it("rename() refuses a folder into itself (E_USAGE), onto a non-empty folder or a file onto a folder (E_EXISTS)", async () => {
      const s = await make();
      await s.writeAll("a/x", Uint8Array.of(1));
      await s.writeAll("b/y", Uint8Array.of(2));
      await s.writeAll("f", Uint8Array.of(3));
      await expectCode(s.rename("a", "a/inner"), "E_USAGE", { path: "a" });
      await expectCode(s.rename("a", "b"), "E_EXISTS", { path: "b" });
      await expectCode(s.rename("f", "a"), "E_EXISTS", { path: "a" });
      expect(await s.list("")).toEqual([{ name: "a", kind: "dir" }, { name: "b", kind: "dir" }, {
        name: "f",
        kind: "file",
      }]);
    });

    it("renaming a folder carries nested files and folders and removes the source", async () => {
      const s = await make();
      await s.writeAll("ckpt/__0_0.distcp", Uint8Array.of(1, 2, 3));
      await s.writeAll("ckpt/sub/.metadata", Uint8Array.of(4));
      await s.rename("ckpt", "final/step-1");
      expect([...await s.readAll("final/step-1/__0_0.distcp")]).toEqual([1, 2, 3]);
      expect([...await s.readAll("final/step-1/sub/.metadata")]).toEqual([4]);
      expect(await s.list("ckpt")).toBeUndefined();
    });

    it("removeTemps() removes what killed writes left in a committed folder and nothing else", async () => {
      const s = await make();
      await s.writeAll("ckpt/__3_0.distcp.tmp-0123456789abcdef", Uint8Array.of(7));
      await s.writeAll("ckpt/__0_0.distcp", Uint8Array.of(1));
      await s.writeAll("ckpt/sub/x.tmp-0123456789abcdef", Uint8Array.of(8));
      expect([...await s.readAll("ckpt/__3_0.distcp.tmp-0123456789abcdef")]).toEqual([7]);
      await s.removeTemps("ckpt");
      await expectCode(s.readAll("ckpt/__3_0.distcp.tmp-0123456789abcdef"), "E_NOT_FOUND");
      expect([...await s.readAll("ckpt/__0_0.distcp")]).toEqual([1]);
      expect([...await s.readAll("ckpt/sub/x.tmp-0123456789abcdef")]).toEqual([8]); // not below the folder
    });

    it("origin() nests its folder under the OPFS root and names it in the description", async () => {
      const s = await make();
      await s.writeAll("k", Uint8Array.of(9));
      const nested = await OpfsStorage.origin("webdcp-origin-check/x/y");
      expect(nested.description).toBe("opfs:/webdcp-origin-check/x/y");
      await nested.writeAll("f", Uint8Array.of(5));
      const root = await OpfsStorage.origin();
      expect([...await root.readAll("webdcp-origin-check/x/y/f")]).toEqual([5]);
      await root.remove("webdcp-origin-check", { recursive: true });
    });
  });
}
