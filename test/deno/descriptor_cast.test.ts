/// <reference lib="deno.ns" />
// Casts by descriptor exist only under Deno (FFI, Linux): worker threads read a band's stored bytes, cast
// them and write them into the output file. Checked against the buffered path byte for byte and against real
// torch and safetensors.
import { convert, verify } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { createCpuEngine, type Engine } from "../../src/engine/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import type { ByteSink, MadeRange } from "../../src/storage/mod.ts";
import { DescriptorCaster } from "../../src/pipeline/mod.ts";
import { StorageError } from "../../src/errors/mod.ts";
import { ZipWriter } from "../../src/zip/mod.ts";
import { crc32 } from "../../src/zip/mod.ts";
import { assert, assertBytes, python, withDir } from "./helpers.ts";

/** Counts the casts the writer's casters run by descriptor (a caster spied on through its prototype). */
async function countingCasts<T>(fn: () => Promise<T>): Promise<{ result: T; casts: number }> {
  const original = DescriptorCaster.prototype.cast;
  let casts = 0;
  DescriptorCaster.prototype.cast = function (...args) {
    casts++;
    return original.apply(this, args);
  };
  try {
    return { result: await fn(), casts };
  } finally {
    DescriptorCaster.prototype.cast = original;
  }
}

/**
 * Runs `fn` in a temp folder holding `dcp`, a torch DCP of two ranks (test/convert/py/make_dcp_cast.py):
 * tensors sharded on dim 0 (cast by descriptor) and one sharded on dim 1 (its rows are not runs of stored
 * bytes: cast through buffers), plus a scalar (cast here) and an int tensor (copied); `expected.pt` holds
 * the same tensors whole.
 */
async function withTorchDcp(
  fn: (fixture: { dir: string; engine: Engine; src: { storage: FileStorage; path: string } }) => Promise<void>,
): Promise<void> {
  await withDir(async (dir) => {
    await python("make_dcp_cast.py", `${dir}/dcp`, `${dir}/expected.pt`);
    await fn({ dir, engine: createCpuEngine(), src: { storage: new FileStorage(dir), path: "dcp" } });
  });
}

Deno.test("a torch DCP converts to bfloat16 and float16 safetensors by descriptor casts byte for byte as through buffers, and safetensors loads torch's casts", async () => {
  if (DescriptorCaster.create() === null) {
    assert(Deno.build.os !== "linux", "no descriptor caster on Linux with --allow-ffi");
    return;
  }
  await withTorchDcp(async ({ dir, engine, src }) => {
    for (const dtype of ["bfloat16", "float16"] as const) {
      const made = { storage: new FileStorage(dir), path: `made-${dtype}.safetensors` };
      const { casts } = await countingCasts(() => convert(src, made, { to: "safetensors", dtype, engine }));
      // a.weight: 5.9 MB out, two bands (one worker steps across the ranks' runs); b.weight (1.2 MB) one; the
      // scale is too small to send to a worker.
      assert(casts >= 3, `${dtype}: ${casts} casts by descriptor`);
      const buffered = {
        storage: new FileStorage(dir, { kernelCopies: false }),
        path: `buffered-${dtype}.safetensors`,
      };
      const { casts: none } = await countingCasts(() => convert(src, buffered, { to: "safetensors", dtype, engine }));
      assert(none === 0, `without kernel copies the buffered path ran ${none} descriptor casts`);
      assertBytes(await Deno.readFile(`${dir}/${made.path}`), await Deno.readFile(`${dir}/${buffered.path}`), dtype);
    }
    const verdict = await python(
      "-c",
      `import torch; from safetensors.torch import load_file
want = torch.load("${dir}/expected.pt")
for dtype in ("bfloat16", "float16"):
    got = load_file(f"${dir}/made-{dtype}.safetensors")
    for k, v in want.items():
        w = v.to(getattr(torch, dtype)) if v.is_floating_point() else v
        assert got[k].dtype == w.dtype and torch.equal(got[k], w), (dtype, k)
print("ok")`,
    );
    assert(verdict.trim() === "ok", verdict);
  });
});

Deno.test("a torch DCP converts to bfloat16 DCP (3 ranks) and .pt by descriptor casts whose workers checksum the zip records, byte for byte as through buffers, and torch loads torch's casts", async () => {
  if (DescriptorCaster.create() === null) return;
  await withTorchDcp(async ({ dir, engine, src }) => {
    // The same plan (copies, and the page padding before copied chunks), every piece through buffers.
    const buffered = new NoDescriptorStorage(dir);
    const outputs = [
      { path: "made-dcp", bufferedPath: "buffered-dcp", opts: { to: "dcp", layout: dimSplitLayout(3) } as const },
      { path: "made.pt", bufferedPath: "buffered.pt", opts: { to: "torch" } as const },
    ];
    for (const { path, bufferedPath, opts } of outputs) {
      const made = { storage: new FileStorage(dir), path };
      const { casts } = await countingCasts(() => convert(src, made, { ...opts, dtype: "bfloat16", engine }));
      assert(casts >= 3, `${path}: ${casts} casts by descriptor`);
      const { casts: none } = await countingCasts(() =>
        convert(src, { storage: buffered, path: bufferedPath }, { ...opts, dtype: "bfloat16", engine })
      );
      assert(none === 0, `${none} casts by descriptor reached a sink without descriptors`);
      // The data files (a DCP's .metadata differs only in its save_id, a fresh UUID as torch's).
      const files = opts.to === "dcp" ? [0, 1, 2].map((r) => `/__${r}_0.distcp`) : [""];
      for (const file of files) {
        const [a, b] = [path, bufferedPath].map((p) => Deno.readFileSync(`${dir}/${p}${file}`));
        assertBytes(a, b, `${path}${file}`);
      }
    }
    const report = await verify({ storage: new FileStorage(dir), path: "made-dcp" }, { deep: true });
    assert(report.ok && report.checked.bytesRead > 0, `verify --deep: ${JSON.stringify(report.problems)}`);
    const verdict = await python(
      "-c",
      `import zipfile, torch, torch.distributed.checkpoint as dcp
want = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in torch.load("${dir}/expected.pt").items()}
assert zipfile.ZipFile("${dir}/made.pt").testzip() is None  # every record's CRC-32
pt = torch.load("${dir}/made.pt", weights_only=True)
got = {k: torch.empty_like(v) for k, v in want.items()}
dcp.load(got, checkpoint_id="${dir}/made-dcp")
for k, v in want.items():
    assert pt[k].dtype == v.dtype and torch.equal(pt[k], v), ("pt", k)
    assert got[k].dtype == v.dtype and torch.equal(got[k], v), ("dcp", k)
print("ok")`,
    );
    assert(verdict.trim() === "ok", verdict);
  });
});

/**
 * A FileStorage whose sinks take neither copies nor made ranges, though it says it copies from files: the
 * writer plans made ranges, and every one of them falls back to its bytes.
 */
class NoDescriptorStorage extends FileStorage {
  override async create(path: string): Promise<ByteSink> {
    const sink = await super.create(path);
    return {
      path: sink.path,
      get position() {
        return sink.position;
      },
      write: (bytes) => sink.write(bytes),
      close: () => sink.close(),
      abort: () => sink.abort(),
    };
  }
}

Deno.test("made ranges a sink will not take are made in the pipeline, byte for byte as through buffers", async () => {
  if (DescriptorCaster.create() === null) return;
  await withTorchDcp(async ({ dir, engine, src }) => {
    const fallback = { storage: new NoDescriptorStorage(dir), path: "fallback.safetensors" };
    assert(fallback.storage.canCopyFrom(src.storage), "the writer is told the sinks copy from files");
    const { casts } = await countingCasts(() =>
      convert(src, fallback, { to: "safetensors", dtype: "bfloat16", engine })
    );
    assert(casts === 0, `${casts} casts by descriptor reached a sink without descriptors`);
    const buffered = { storage: new FileStorage(dir, { kernelCopies: false }), path: "buffered.safetensors" };
    await convert(src, buffered, { to: "safetensors", dtype: "bfloat16", engine });
    assertBytes(
      await Deno.readFile(`${dir}/fallback.safetensors`),
      await Deno.readFile(`${dir}/buffered.safetensors`),
      "fallback",
    );
  });
});

Deno.test("a descriptor cast that cannot read fails with E_IO naming the source file", async () => {
  const caster = DescriptorCaster.create();
  if (caster === null) return;
  try {
    const source = {
      path: "ckpt/__0_0.distcp",
      size: 1 << 20,
      read: () => Promise.reject(),
      close: () => Promise.resolve(),
    };
    const stored = [{ source, offset: 4096, length: 4096 }];
    const io = { inputs: [{ fd: -1, offset: 4096, length: 4096 }], fd: -1, offset: 0 };
    let error: unknown;
    await caster.cast(io, "float32", "bfloat16", 1024, stored).catch((e) => (error = e));
    assert(error instanceof StorageError && error.code === "E_IO", `got ${error}`);
    const message = (error as Error).message;
    assert(message.includes("ckpt/__0_0.distcp") && message.includes("read failed"), message);
  } finally {
    await caster.close();
  }
});

Deno.test("a made range reaches a sink without descriptors (memory) and a zip record as its bytes, with their CRC, whether or not its maker checksums", async () => {
  for (const crc32OfMade of [false, true]) await madeRangeIntoMemoryZip(crc32OfMade);
});

async function madeRangeIntoMemoryZip(crc32OfMade: boolean): Promise<void> {
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
  const piece: MadeRange = {
    from: [],
    length: bytes.byteLength,
    crc32: crc32OfMade,
    make: () => Promise.reject(new Error("a memory sink has no descriptors")),
    bytes: () => Promise.resolve(bytes),
  };
  const storage = new MemoryStorage();
  const sink = await storage.create("a.zip");
  const zip = new ZipWriter(sink);
  const entry = await zip.writeRecordStream("archive/data/0", bytes.byteLength, [Uint8Array.of(), piece]);
  await zip.finish();
  await sink.close();
  assert(entry.crc32 === crc32(bytes), `CRC ${entry.crc32} against ${crc32(bytes)}`);
  const file = await storage.readAll("a.zip");
  const at = file.findIndex((_, i) => bytes.every((b, j) => file[i + j] === b));
  assert(at > 0, "the record's bytes are in the archive");
}
