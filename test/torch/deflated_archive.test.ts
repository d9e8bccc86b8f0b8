import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "fflate";
import { afterAll, beforeAll, describe as suite, expect, inject, it } from "vitest";
import { convert, verify } from "../../src/jobs/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { memorySource } from "../../src/storage/byte_source.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { loadTorch, openTorchArchive, type OpenTorchArchiveOptions, type TensorRef } from "../../src/torch/mod.ts";
import { inflatedSource, readZipDirectory, type ZipEntry } from "../../src/zip/mod.ts";
import { describe } from "./describe.ts";

const PY = fileURLToPath(new URL("./py/", import.meta.url));
let dir = "";
let written: { value: unknown; records: Record<string, [number, number, number]> };
let deflated: Uint8Array;

beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(fs.realpathSync("/tmp"), "webdcp-deflate-"));
  written = JSON.parse(
    execFileSync(inject("python"), [nodePath.join(PY, "deflate_writes.py"), dir], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    }),
  );
  deflated = new Uint8Array(fs.readFileSync(nodePath.join(dir, "deflated.pt")));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function open(bytes: Uint8Array, opts: OpenTorchArchiveOptions = {}) {
  return await openTorchArchive(memorySource(bytes, "d.pt"), opts);
}

async function failure(p: Promise<unknown>): Promise<WebdcpError> {
  const err = await p.then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(WebdcpError);
  return err as WebdcpError;
}

/** Offset of the central directory header of `name`, whose size fields a test rewrites. */
function centralHeader(bytes: Uint8Array, name: string): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const want = new TextEncoder().encode(name);
  for (let i = bytes.length - 46; i >= 0; i--) {
    if (dv.getUint32(i, true) !== 0x02014b50 || dv.getUint16(i + 28, true) !== want.length) continue;
    if (want.every((b, k) => bytes[i + 46 + k] === b)) return i;
  }
  throw new Error(`no central header for ${name}`);
}

function patched(name: string, field: "compressed" | "size", value: number): Uint8Array {
  const copy = deflated.slice();
  new DataView(copy.buffer).setUint32(centralHeader(copy, name) + (field === "compressed" ? 20 : 24), value, true);
  return copy;
}

async function entry(name: string): Promise<ZipEntry> {
  const entries = await readZipDirectory(memorySource(deflated, "d.pt"));
  return entries.find((e) => e.name === name)!;
}

suite("torch.save archives rewritten by Python's zipfile with ZIP_DEFLATED", () => {
  it("the file really is deflated throughout (zipfile says method 8 for every record)", () => {
    const records = Object.values(written.records);
    expect(records.length).toBeGreaterThan(5);
    expect(records.every(([method]) => method === 8)).toBe(true);
    const zeros = Object.entries(written.records).find(([n]) => n.endsWith("data/1"))![1];
    expect(zeros[2] / zeros[1]).toBeGreaterThan(500);
  });

  it("loadTorch() reads it as torch.load does, bit for bit", async () => {
    expect(describe(await loadTorch(memorySource(deflated, "d.pt")))).toEqual(written.value);
  });

  it("reads boxes of a deflated tensor in any order (a read behind the last starts the stream over)", async () => {
    const archive = await open(deflated);
    const ref = (archive.value as unknown as Map<string, TensorRef>).get("weight")!;
    const whole = await archive.readTensor(ref);
    for (const start of [300, 0, 511, 128]) {
      const box = await archive.readTensor(ref, { offsets: [start, 0], sizes: [1, 1024] });
      expect(box.data).toEqual(whole.data.subarray(start * 4096, (start + 1) * 4096));
    }
    expect(archive.storedRange(ref, { offsets: [0, 0], sizes: [1, 1024] })).toBeUndefined();
  });

  it("verify() checks the CRC of every inflated record; convert() writes stored records torch reads", async () => {
    const storage = new FileStorage(dir);
    expect(await verify({ storage, path: "deflated.pt" }, { deep: true })).toMatchObject({ ok: true, problems: [] });
    const engine = createCpuEngine();
    await convert({ storage, path: "deflated.pt" }, { storage, path: "restored.pt" }, { to: "torch", engine });
    const again = await storage.open("restored.pt");
    expect(describe(await loadTorch(again))).toEqual(written.value);
    await again.close();
  });

  it("inflatedSource() serves 2 MiB in ascending 4 KiB reads from one pass of the stream", async () => {
    const e = await entry("stored/data/0");
    const file = memorySource(deflated, "d.pt");
    let compressedRead = 0;
    const counting = { ...file, read: (o: number, n: number) => ((compressedRead += n), file.read(o, n)) };
    const src = inflatedSource(counting, e, { path: "d.pt", baseOffset: 0 });
    const all = await src.read(0, e.size);
    compressedRead = 0;
    const pieces = new Uint8Array(e.size);
    for (let at = 0; at < e.size; at += 4096) pieces.set(await src.read(at, Math.min(4096, e.size - at)), at);
    expect(Buffer.compare(pieces, all)).toBe(0);
    expect(compressedRead).toBe(e.deflated!.compressedSize);
  });
});

suite("deflated records that lie or are bombs", () => {
  it("refuses a declared size over the ratio limit before inflating (E_ZIP_BOMB naming the limit)", async () => {
    const e = await entry("stored/data/0");
    const bytes = patched(e.name, "size", e.deflated!.compressedSize * 2000);
    const err = await failure(open(bytes));
    expect(err).toMatchObject({ code: "E_ZIP_BOMB", path: "d.pt", offset: e.localHeaderOffset });
    expect(err.message).toMatch(/ratio over the limit of 1032/);
  });

  it("honours lower limits: a real 1000:1 record, and a size over maxEntryBytes", async () => {
    const zeros = await entry("stored/data/1");
    const ratio = await failure(open(deflated, { inflateLimits: { maxEntryBytes: 2 ** 40, maxRatio: 100 } }));
    expect(ratio).toMatchObject({ code: "E_ZIP_BOMB", offset: zeros.localHeaderOffset });
    const size = await failure(open(deflated, { inflateLimits: { maxEntryBytes: 1 << 20, maxRatio: 1032 } }));
    expect(size.code).toBe("E_ZIP_BOMB");
    expect(size.message).toMatch(/over the limit of 1048576/);
  });

  it("refuses a record that inflates past its declared size, or short of it (E_INFLATE)", async () => {
    const pkl = await entry("stored/data.pkl");
    const shorter = await failure(open(patched(pkl.name, "size", pkl.size - 1)));
    expect(shorter).toMatchObject({ code: "E_INFLATE", path: "d.pt" });
    expect(shorter.message).toMatch(/past its declared size/);
    const longer = await failure(open(patched(pkl.name, "size", pkl.size + 1)));
    expect(longer.code).toBe("E_INFLATE");
  });

  it("refuses a corrupt deflate stream where the tensor is read, naming the record's data offset", async () => {
    const e = await entry("stored/data/0");
    const bytes = deflated.slice();
    bytes[e.dataOffset] = 0x07; // final block of the reserved type 3
    const archive = await open(bytes);
    const ref = (archive.value as unknown as Map<string, TensorRef>).get("weight")!;
    const err = await failure(archive.readTensor(ref));
    expect(err).toMatchObject({ code: "E_INFLATE", path: "d.pt", offset: e.dataOffset });
  });

  it("refuses a stream cut short by a lying compressed size", async () => {
    const e = await entry("stored/data/0");
    const archive = await open(patched(e.name, "compressed", 4096));
    const ref = (archive.value as unknown as Map<string, TensorRef>).get("weight")!;
    expect((await failure(archive.readTensor(ref))).code).toBe("E_INFLATE");
  });

  it("inflatedSource() refuses a well-formed stream that is longer than declared", async () => {
    const data = deflateSync(new Uint8Array(100_000).fill(1));
    const e: ZipEntry = {
      name: "x",
      localHeaderOffset: 0,
      dataOffset: 0,
      size: 50_000,
      crc32: 0,
      deflated: { compressedSize: data.length },
    };
    const src = inflatedSource(memorySource(data, "x.zip"), e, { path: "x.zip", baseOffset: 0 });
    expect(await failure(src.read(0, 50_000))).toMatchObject({ code: "E_INFLATE", path: "x.zip" });
  });
});
