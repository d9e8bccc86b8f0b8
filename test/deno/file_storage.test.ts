/// <reference lib="deno.ns" />
// FileStorage runs on Deno's own file API under Deno (localFs); this proves it carries node:fs's
// semantics (positional reads, temp-file publish, E_* codes, close after reads) under Deno's own test runner.
import { FileStorage } from "../../src/storage/file/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { FileSource } from "../../src/storage/file/file_source.ts";
import { localFs } from "../../src/storage/file/local_fs.ts";

function assertEquals(actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

async function assertCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(() => undefined, (e) => e);
  if (!(err instanceof WebdcpError) || err.code !== code) throw new Error(`expected ${code}, got ${String(err)}`);
}

async function withRoot(fn: (s: FileStorage, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "webdcp-deno-" });
  try {
    await fn(new FileStorage(root), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("FileStorage publishes a streamed file on close() and reads ranges back in Deno", () =>
  withRoot(async (s, root) => {
    const sink = await s.create("ckpt/__0_0.distcp");
    await sink.write(Uint8Array.of(1, 2, 3));
    await sink.write(Uint8Array.of(4, 5));
    assertEquals(await s.stat("ckpt/__0_0.distcp"), undefined);
    assertEquals([...Deno.readDirSync(`${root}/ckpt`)].length, 1);
    await sink.close();
    assertEquals(await s.stat("ckpt/__0_0.distcp"), { size: 5 });
    const src = await s.open("ckpt/__0_0.distcp");
    assertEquals([...await src.read(3, 2)], [4, 5]);
    await assertCode(src.read(4, 2), "E_OUT_OF_RANGE");
    await src.close();
    assertEquals(await s.list("ckpt"), [{ name: "__0_0.distcp", kind: "file" }]);
  }));

Deno.test("FileStorage abort() removes the temp file and keeps the old target in Deno", () =>
  withRoot(async (s, root) => {
    await s.writeAll("f", Uint8Array.of(9));
    const sink = await s.create("f");
    await sink.write(Uint8Array.of(1));
    await sink.abort();
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name), ["f"]);
    assertEquals([...await s.readAll("f")], [9]);
  }));

Deno.test("FileStorage maps missing files, hostile paths and non-empty folders to typed errors in Deno", () =>
  withRoot(async (s) => {
    await assertCode(s.open("missing"), "E_NOT_FOUND");
    await assertCode(s.open("../outside"), "E_PATH_ESCAPE");
    await s.writeAll("d/x", Uint8Array.of(1));
    await assertCode(s.remove("d"), "E_USAGE");
    await s.rename("d", "e");
    await s.remove("e", { recursive: true });
    assertEquals(await s.list(""), []);
  }));

Deno.test("FileStorage writes large pieces through Deno's file in order, and reads into views, in Deno", () =>
  withRoot(async (s) => {
    const sink = await s.create("big.bin");
    const scratch = new Uint8Array(6 << 20);
    const sizes = [6 << 20, 5 << 20, 17, 4 << 20];
    for (const [i, size] of sizes.entries()) await sink.write(scratch.subarray(0, size).fill(i + 1));
    assertEquals(sink.position, sizes.reduce((a, b) => a + b, 0));
    await sink.close();
    const src = await s.open("big.bin");
    const view = new Uint8Array(8);
    let at = 0;
    for (const [i, size] of sizes.entries()) {
      await src.readInto!(at + size - 2, view.subarray(3, 5));
      assertEquals([...view.subarray(3, 5)], [i + 1, i + 1]);
      at += size;
    }
    await assertCode(src.readInto!(at - 1, new Uint8Array(2)), "E_OUT_OF_RANGE");
    await src.close();
  }));

Deno.test("FileStorage small reads (synchronous through FFI in Deno) still report a file truncated while open, and refuse after close", () =>
  withRoot(async (s, root) => {
    const sink = await s.create("small.bin");
    await sink.write(Uint8Array.from({ length: 4096 }, (_, i) => i & 0xFF));
    await sink.close();
    const src = await s.open("small.bin");
    const view = new Uint8Array(4);
    await src.readInto!(1000, view);
    assertEquals([...view], [1000 & 0xFF, 1001 & 0xFF, 1002 & 0xFF, 1003 & 0xFF]);
    await Deno.truncate(`${root}/small.bin`, 2000);
    await assertCode(src.readInto!(1998, new Uint8Array(4)), "E_OUT_OF_RANGE");
    await src.close();
    await assertCode(src.readInto!(0, new Uint8Array(4)), "E_USAGE");
  }));

Deno.test("FileStorage reads on one open file, made at once, each return their own bytes in Deno", () =>
  withRoot(async (s) => {
    const size = 4 << 20;
    await s.writeAll("many.bin", Uint8Array.from({ length: 4 * size }, (_, i) => (i / size) | 0));
    const src = await s.open("many.bin");
    // Large reads (past the synchronous path), in an order that moves the file's cursor back and forth.
    const reads = [3, 0, 2, 1, 3].map((k) => src.read(k * size, size));
    for (const [i, k] of [3, 0, 2, 1, 3].entries()) {
      const bytes = await reads[i];
      assertEquals([bytes[0], bytes[size - 1]], [k, k]);
    }
    await src.close();
  }));

Deno.test("FileStorage close() while a read is in flight lets that read finish, as node:fs does, in Deno", () =>
  withRoot(async (s) => {
    await s.writeAll("inflight.bin", new Uint8Array(16 << 20).fill(7));
    const src = await s.open("inflight.bin");
    const read = src.read(0, 16 << 20);
    const closed = src.close();
    const bytes = await read;
    assertEquals([bytes.length, bytes[0], bytes[(16 << 20) - 1]], [16 << 20, 7, 7]);
    await closed;
    await assertCode(src.read(0, 1 << 20), "E_USAGE");
  }));

Deno.test("FileStorage small reads return the opened file's bytes after another file took its name in Deno", () =>
  withRoot(async (_, root) => {
    await Deno.writeFile(`${root}/a.bin`, new Uint8Array(4096).fill(1));
    await Deno.writeFile(`${root}/b.bin`, new Uint8Array(4096).fill(2));
    // What FileStorage.open does, with b.bin renamed over a.bin between the open and the source's making.
    const fs = await localFs();
    const handle = await fs.openRead(`${root}/a.bin`);
    const stat = await handle.stat();
    await Deno.rename(`${root}/b.bin`, `${root}/a.bin`);
    const src = new FileSource(handle, "a.bin", stat, `${root}/a.bin`);
    // The second small read is the first made through the synchronous descriptor, opened by the path.
    assertEquals([...await src.read(100, 4)], [1, 1, 1, 1]);
    assertEquals([...await src.read(200, 4)], [1, 1, 1, 1]);
    await src.close();
  }));

/** Pages of `path` in the page cache (util-linux's fincore), or undefined where fincore is missing. */
async function residentPages(path: string): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("fincore", { args: ["--bytes", "--noheadings", "--output", "PAGES", path] })
      .output();
    return out.success ? Number(new TextDecoder().decode(out.stdout).trim()) : undefined;
  } catch {
    return undefined;
  }
}

Deno.test("FileStorage with directWrites writes files of any size and any pieces byte for byte, past the page cache, in Deno", () =>
  withRoot(async (_, root) => {
    const direct = new FileStorage(root, { directWrites: true });
    const MiB = 1 << 20;
    // Sizes around a block (4 KiB) and a staging buffer (8 MiB), and past the turn of all four staging buffers
    // (32 MiB: the first is filled again once its write is done), in pieces of odd sizes, small and large.
    for (const size of [0, 1, 4095, 4096, 4097, 8 * MiB, 8 * MiB + 1, 20 * MiB + 12345, 41 * MiB + 12345]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >>> 12)) & 0xff);
      const sink = await direct.create(`out/${size}.bin`);
      for (let at = 0, k = 0; at < size; k++) {
        const n = Math.min(size - at, [3, 70_001, 5 * MiB + 7, 100][k % 4]);
        await sink.write(data.subarray(at, at + n));
        at += n;
      }
      await sink.close();
      const back = await Deno.readFile(`${root}/out/${size}.bin`);
      if (back.byteLength !== size) throw new Error(`${size}: read back ${back.byteLength} bytes`);
      const at = back.findIndex((b, i) => b !== data[i]);
      if (at >= 0) throw new Error(`${size}: first difference at byte ${at}`);
    }
    // Direct writes leave nothing in the page cache; the same file written as usual is there.
    const big = new Uint8Array(16 * MiB).fill(7);
    await direct.writeAll("direct.bin", big);
    await new FileStorage(root).writeAll("buffered.bin", big);
    const [viaDirect, viaCache] = [
      await residentPages(`${root}/direct.bin`),
      await residentPages(`${root}/buffered.bin`),
    ];
    if (viaDirect !== undefined && viaCache !== undefined) {
      if (!(viaDirect < 16 && viaCache > 2000)) {
        throw new Error(`resident pages: ${viaDirect} written directly, ${viaCache} through the page cache`);
      }
    }
  }));
