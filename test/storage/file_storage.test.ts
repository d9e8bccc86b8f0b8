import { mkdtemp, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { describeStorage, expectCode } from "./storage_spec.ts";

const roots: string[] = [];
async function fresh(): Promise<FileStorage> {
  const root = await mkdtemp(join(tmpdir(), "webdcp-fs-"));
  roots.push(root);
  return new FileStorage(root);
}
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describeStorage("FileStorage", fresh);

describe("FileStorage on disk", () => {
  it("readInto() fills a view of a larger buffer at the file offset and rejects reads past the end", async () => {
    const s = await fresh();
    await s.writeAll("d.bin", Uint8Array.from({ length: 100 }, (_, i) => i));
    const src = await s.open("d.bin");
    const backing = new Uint8Array(8);
    await src.readInto!(95, backing.subarray(3, 8));
    expect([...backing]).toEqual([0, 0, 0, 95, 96, 97, 98, 99]);
    await expectCode(src.readInto!(96, new Uint8Array(5)), "E_OUT_OF_RANGE", { path: "d.bin", offset: 96 });
    await src.close();
  });

  it("a sink publishes large writes in order from a reused buffer, position advancing per write", async () => {
    const s = await fresh();
    const sink = await s.create("p.bin");
    const sizes = Array.from({ length: 12 }, (_, i) => (i % 3) * (3 << 20) + 1 + i); // small (gathered) and large
    const scratch = new Uint8Array(Math.max(...sizes));
    let expected = 0;
    for (const [i, size] of sizes.entries()) {
      await sink.write(scratch.subarray(0, size).fill(i + 1));
      expected += size;
      expect(sink.position).toBe(expected);
    }
    await sink.close();
    const bytes = await s.readAll("p.bin");
    expect(bytes.byteLength).toBe(expected);
    let at = 0;
    for (const [i, size] of sizes.entries()) {
      expect([bytes[at], bytes[at + (size >> 1)], bytes[at + size - 1]]).toEqual([i + 1, i + 1, i + 1]);
      at += size;
    }
  });

  it("abort() right after a large write leaves neither the temp file nor the target", async () => {
    const s = await fresh();
    const sink = await s.create("big.bin");
    await sink.write(new Uint8Array(16 << 20).fill(7));
    await sink.write(new Uint8Array(16 << 20).fill(8));
    await sink.abort();
    expect(await readdir(s.root)).toEqual([]);
    await expectCode(sink.write(Uint8Array.of(1)), "E_USAGE");
  });

  it("an open sink writes to <name>.tmp-<random> beside the target and removes it on abort()", async () => {
    const s = await fresh();
    const sink = await s.create("m/model.safetensors");
    await sink.write(Uint8Array.of(1, 2, 3));
    const during = await readdir(join(s.root, "m"));
    expect(during).toHaveLength(1);
    expect(during[0]).toMatch(/^model\.safetensors\.tmp-[0-9a-f]{16}$/);
    await sink.abort();
    expect(await readdir(join(s.root, "m"))).toEqual([]);
  });

  it("streams a large file through many writes without holding it (bytes land on disk before close)", async () => {
    const s = await fresh();
    const sink = await s.create("big.bin");
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < 8; i++) await sink.write(chunk.fill(i));
    const [temp] = await readdir(s.root);
    expect((await stat(join(s.root, temp))).size).toBe(8 << 20);
    await sink.close();
    expect(await s.stat("big.bin")).toEqual({ size: 8 << 20 });
    expect([...await s.read("big.bin", (5 << 20) + 7, 1)]).toEqual([5]);
  });

  it("reports a file truncated after open() as E_OUT_OF_RANGE instead of returning zeros", async () => {
    const s = await fresh();
    await writeFile(join(s.root, "t.bin"), new Uint8Array(100).fill(7));
    const src = await s.open("t.bin");
    await truncate(join(s.root, "t.bin"), 10);
    await expectCode(src.read(50, 20), "E_OUT_OF_RANGE", { path: "t.bin", offset: 50 });
    await src.close();
  });
});
