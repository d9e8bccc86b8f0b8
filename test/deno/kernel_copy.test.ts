/// <reference lib="deno.ns" />
// The kernel-copy path exists only under Deno (FFI, Linux): FileSink.copyFrom and the reshard built on it,
// checked against the buffered path byte for byte and against real torch.
import { convert, finalize, reshard } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { openDcp } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { MemoryStorage, sliceSource } from "../../src/storage/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { kernelCopier } from "../../src/storage/file/kernel_copy.ts";
import { nativeCopy } from "../../src/tasks/mod.ts";
import { assert, assertBytes, python, withDir } from "./helpers.ts";

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

Deno.test("the kernel copier is there under Deno with the ffi permission on Linux", () => {
  assert(Deno.build.os !== "linux" || kernelCopier() !== null, "no kernel copier on Linux with --allow-ffi");
});

Deno.test("FileSink.copyFrom() appends unaligned ranges of files and slices between writes, byte for byte", () =>
  withDir(async (dir) => {
    const s = new FileStorage(dir);
    assert(s.canCopyFrom(s), "a FileStorage copies from a FileStorage here");
    const data = pattern(9_000_000, 1);
    await s.writeAll("src.bin", data);
    const src = await s.open("src.bin");
    const sink = await s.create("out.bin");
    await sink.write(Uint8Array.of(1, 2, 3));
    assert(await sink.copyFrom!(src, 1001, 3_000_000), "copied from the file");
    await sink.write(new Uint8Array(200_000).fill(9)); // a large write between copies
    assert(await sink.copyFrom!(sliceSource(src, 4097, 5_000_000), 63, 2_000_000), "copied from a slice");
    assert(await sink.copyFrom!(src, 0, 0), "an empty range is copied too");
    await sink.write(Uint8Array.of(7));
    assert(sink.position === 3 + 3_000_000 + 200_000 + 2_000_000 + 1, `position ${sink.position}`);
    await sink.close();
    await src.close();
    const want = new Uint8Array([
      1,
      2,
      3,
      ...data.subarray(1001, 3_001_001),
      ...new Uint8Array(200_000).fill(9),
      ...data.subarray(4160, 2_004_160),
      7,
    ]);
    assertBytes(await s.readAll("out.bin"), want, "out.bin");
  }));

Deno.test("FileSink.copyFrom() copies the bytes of the file the source opened, not of one renamed over its name", () =>
  withDir(async (dir) => {
    const s = new FileStorage(dir);
    const data = pattern(1_000_000, 3);
    await s.writeAll("src.bin", data);
    const src = await s.open("src.bin");
    await s.writeAll("src.bin", pattern(1_000_000, 4)); // published over the name: a rename
    const sink = await s.create("out.bin");
    assert(await sink.copyFrom!(src, 0, 200_000), "copied from the file");
    assert(await sink.copyFrom!(src, 500_000, 100), "a small range too");
    await sink.close();
    await src.close();
    assertBytes(
      await s.readAll("out.bin"),
      new Uint8Array([...data.subarray(0, 200_000), ...data.subarray(500_000, 500_100)]),
      "out.bin",
    );
  }));

Deno.test("FileSink.copyFrom() resolves false for a source it cannot copy from, and appends nothing", () =>
  withDir(async (dir) => {
    const memory = new MemoryStorage();
    await memory.writeAll("m.bin", pattern(100, 2));
    const s = new FileStorage(dir);
    assert(!s.canCopyFrom(memory), "a FileStorage does not copy from memory");
    const sink = await s.create("out.bin");
    const src = await memory.open("m.bin");
    assert(!(await sink.copyFrom!(src, 0, 10)), "copyFrom from memory resolves false");
    assert(sink.position === 0, "nothing appended");
    await sink.close();
    assert((await s.stat("out.bin"))!.size === 0, "empty file");
    const off = new FileStorage(dir, { kernelCopies: false });
    assert(!off.canCopyFrom(s), "kernelCopies: false turns copies off");
  }));

Deno.test("a range the kernel refuses (another file system) is finished through a buffer", async () => {
  let shm: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) shm = "/dev/shm";
  } catch {
    // no tmpfs mount to copy across: the buffered finish is still covered by the next test's byte checks
  }
  if (shm === undefined) return;
  await withDir((tmpfs) =>
    withDir(async (disk) => {
      const from = new FileStorage(tmpfs);
      const data = pattern(3_000_000, 3);
      await from.writeAll("src.bin", data);
      const src = await from.open("src.bin");
      const to = new FileStorage(disk);
      const sink = await to.create("out.bin");
      assert(await sink.copyFrom!(src, 12345, 2_500_000), "accepted (and finished without the kernel)");
      await sink.close();
      await src.close();
      assertBytes(await to.readAll("out.bin"), data.subarray(12345, 2_512_345), "out.bin");
    }), shm);
});

/** Both checkpoints hold the same items byte for byte (where they sit in the rank files may differ). */
async function assertSameItems(a: FileStorage, b: FileStorage): Promise<number> {
  const [x, y] = await Promise.all([openDcp(a, ""), openDcp(b, "")]);
  let moved = 0;
  try {
    assert(x.metadata.storageData.size === y.metadata.storageData.size, "same number of items");
    for (const [key, item] of x.metadata.storageData) {
      const other = y.metadata.storageData.get(key);
      assert(other !== undefined, `item ${key} on both sides`);
      const read = (s: FileStorage, i: typeof item.info) => s.read(i.relativePath, i.offset, i.length);
      assertBytes(await read(a, item.info), await read(b, other!.info), key);
      if (item.info.offset % 4096 !== other!.info.offset % 4096) moved++;
    }
  } finally {
    await x.close();
    await y.close();
  }
  return moved;
}

Deno.test("reshard through kernel copies writes the items the buffered path writes, page-aligned like their sources, and torch loads them; so do two --part runs and finalize", async () => {
  await withDir(async (dir) => {
    const ckpt = `${dir}/dcp4`;
    await python("make_dcp.py", ckpt, `${dir}/expected.pt`, "4");
    const engine = createCpuEngine();
    const src = { storage: new FileStorage(ckpt), path: "" };
    const copied = { storage: new FileStorage(`${dir}/copied`), path: "" };
    const buffered = { storage: new FileStorage(`${dir}/buffered`, { kernelCopies: false }), path: "" };
    assert(copied.storage.canCopyFrom(src.storage), "copies are on");
    // Small bands: chunk records are assembled from many copied runs, CRCs joined from the pieces.
    await reshard(src, copied, { layout: dimSplitLayout(3), engine, bandBytes: 4096 });
    await reshard(src, buffered, { layout: dimSplitLayout(3), engine, bandBytes: 4096 });
    // The same torch.save archives byte for byte; only where they sit in the rank files differs (padding).
    const moved = await assertSameItems(copied.storage, buffered.storage);
    assert(moved > 0, "some items were moved to line up with their sources' pages");
    // Each part locates and copies only the chunks of the rank files it owns.
    const parts = { storage: new FileStorage(`${dir}/parts`), path: "" };
    for (const index of [0, 1]) {
      await reshard(src, parts, { layout: dimSplitLayout(3), engine, bandBytes: 4096, part: { index, count: 2 } });
    }
    await finalize(parts);
    await assertSameItems(parts.storage, buffered.storage);
    const verdict = JSON.parse(
      (await python("check_load.py", "dtensor", `${dir}/copied`, `${dir}/expected.pt`, "3", "0"))
        .trim().split("\n").pop()!,
    );
    assert(verdict.ok === true, `torch: ${JSON.stringify(verdict.errors)}`);
  });
});

Deno.test("torch.save and safetensors files convert to DCP through kernel copies as through buffers, and torch loads them", async () => {
  await withDir(async (dir) => {
    await python("make_dcp.py", `${dir}/dcp2`, `${dir}/expected.pt`, "2");
    await python(
      "-c",
      `import torch; from safetensors.torch import save_file
sd = torch.load("${dir}/expected.pt", weights_only=False)
save_file({k: v.contiguous() for k, v in sd.items() if isinstance(v, torch.Tensor)}, "${dir}/model.safetensors")`,
    );
    const engine = createCpuEngine();
    for (const file of ["expected.pt", "model.safetensors"]) {
      const src = { storage: new FileStorage(dir), path: file };
      const copied = { storage: new FileStorage(`${dir}/${file}.copied`), path: "" };
      const buffered = { storage: new FileStorage(`${dir}/${file}.buffered`, { kernelCopies: false }), path: "" };
      for (const out of [copied, buffered]) await convert(src, out, { to: "dcp", layout: dimSplitLayout(2), engine });
      // Copied chunks were placed to line up with their source's pages: the kernel path ran.
      assert(await assertSameItems(copied.storage, buffered.storage) > 0, `${file}: no chunk was copied`);
    }
    const verdict = JSON.parse(
      (await python("check_load.py", "dcp", `${dir}/expected.pt.copied`, `${dir}/expected.pt`))
        .trim().split("\n").pop()!,
    );
    assert(verdict.ok === true, `torch: ${JSON.stringify(verdict.errors)}`);
  });
});

Deno.test("a DCP checkpoint of MB-sized tensors converts to safetensors through kernel copies as through buffers, and safetensors loads it", async () => {
  await withDir(async (dir) => {
    // Tensors of 1-6 MB, each stored at a 64-byte boundary of its torch.save record: in the safetensors
    // file they start elsewhere within a page than in their source.
    await python(
      "-c",
      `import torch, torch.distributed.checkpoint as dcp
g = torch.Generator().manual_seed(7)
sd = {"a.weight": torch.randn(1536, 1024, generator=g), "b.weight": torch.randn(300, 1001, generator=g),
      "c.bias": torch.randn(5, generator=g), "d.weight": torch.randn(257, 1024, generator=g).to(torch.bfloat16)}
dcp.save(sd, checkpoint_id="${dir}/dcp", no_dist=True)
torch.save(sd, "${dir}/expected.pt")`,
    );
    const engine = createCpuEngine();
    const src = { storage: new FileStorage(dir), path: "dcp" };
    await convert(src, { storage: new FileStorage(dir), path: "copied.safetensors" }, { to: "safetensors", engine });
    const buffered = { storage: new FileStorage(dir, { kernelCopies: false }), path: "buffered.safetensors" };
    await convert(src, buffered, { to: "safetensors", engine });
    assertBytes(
      await Deno.readFile(`${dir}/copied.safetensors`),
      await Deno.readFile(`${dir}/buffered.safetensors`),
      "copied.safetensors against buffered.safetensors",
    );
    const out = await python(
      "-c",
      `import torch; from safetensors.torch import load_file
want = torch.load("${dir}/expected.pt"); got = load_file("${dir}/copied.safetensors")
print(sorted(got) == sorted(want) and all(torch.equal(got[k], want[k]) for k in want))`,
    );
    assert(out.trim() === "True", `safetensors loaded other tensors: ${out}`);
  });
});

Deno.test("kernel copies and direct writes know a descriptor's file with the CLI's permissions (no --allow-all)", () =>
  withDir(async (dir) => {
    // bin/webdcp's permissions: Deno grants /proc/self/fd only with --allow-all, so the check must not need it.
    const script = `${dir}/check.ts`;
    const libcUrl = new URL("../../src/tasks/libc.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { libc, O_RDONLY } from ${JSON.stringify(libcUrl)};
const c = libc();
const path = ${JSON.stringify(`${dir}/a.bin`)};
await Deno.writeFile(path, new Uint8Array(10));
await Deno.writeFile(path + ".other", new Uint8Array(10));
const fd = c.open(new TextEncoder().encode(path + "\\0"), O_RDONLY, 0);
console.log(JSON.stringify([c.isFile(fd, Deno.statSync(path)), c.isFile(fd, Deno.statSync(path + ".other"))]));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi",
        script,
      ],
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert(out.success && text === "[true,false]", `got ${text} ${new TextDecoder().decode(out.stderr)}`);
  }));

Deno.test("nativeCopy() copies shared memory into the front of a buffer byte for byte, and nothing past the source", () => {
  const copy = nativeCopy();
  assert(copy !== undefined, "Deno with the ffi permission has a native copy");
  const from = new Uint8Array(new SharedArrayBuffer(100_003));
  from.forEach((_, i) => (from[i] = (i * 7 + 3) & 0xFF));
  const into = new Uint8Array(100_010).fill(0xEE);
  copy!(into.subarray(5), from.subarray(2));
  assertBytes(into.subarray(5, 5 + 100_001), from.subarray(2), "copied bytes");
  assert([...into.subarray(0, 5), ...into.subarray(5 + 100_001)].every((b) => b === 0xEE), "bytes around the copy");
  copy!(into, from.subarray(0, 0)); // an empty source copies nothing
  assert(into[0] === 0xEE, "an empty copy leaves the buffer alone");
});
