import { mkdtemp, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileStorage } from "../../src/storage/mod.ts";
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
