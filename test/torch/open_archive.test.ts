import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import type { ByteSource } from "../../src/storage/mod.ts";
import { encodeTorch, isLazyTensor, openTorchArchive } from "../../src/torch/mod.ts";
import { buildArchive, rebuildV2 } from "./build_archive.ts";
import { refAt } from "./refs.ts";

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function counting(source: ByteSource): ByteSource & { bytesRead: number; reads: number } {
  const c = {
    path: source.path,
    size: source.size,
    bytesRead: 0,
    reads: 0,
    read(offset: number, length: number) {
      c.bytesRead += length;
      c.reads++;
      return source.read(offset, length);
    },
    close: () => source.close(),
  };
  return c;
}

describe("openTorchArchive()", () => {
  it("byte-swaps storages of a big-endian archive per scalar (complex as two halves)", async () => {
    const be = (bytes: Uint8Array, width: number) => {
      const out = bytes.slice();
      for (let i = 0; i < out.length; i += width) out.subarray(i, i + width).reverse();
      return out;
    };
    const floats = f32([1.5, -2, 3.25]);
    const complex = f32([1, 2, -3, 4]); // two complex64 values
    const shorts = new Uint8Array(Int16Array.of(258, -2).buffer);
    const bytes = await buildArchive({
      pickle: new Map([
        ["f", rebuildV2("FloatStorage", "0", 3, 0, [3], [1])],
        ["c", rebuildV2("ComplexFloatStorage", "1", 2, 0, [2], [1])],
        ["s", rebuildV2("ShortStorage", "2", 2, 0, [2], [1])],
      ]),
      storages: [be(floats, 4), be(complex, 4), be(shorts, 2)],
      byteorder: "big",
    });
    const archive = await openTorchArchive(memorySource(bytes, "be.pt"));
    expect((await archive.readTensor(refAt(archive.value, "f"))).data).toEqual(floats);
    expect((await archive.readTensor(refAt(archive.value, "c"))).data).toEqual(complex);
    expect((await archive.readTensor(refAt(archive.value, "s"))).data).toEqual(shorts);
  });

  it("reads only the byte runs of a box of a contiguous tensor", async () => {
    const rows = 300;
    const cols = 200;
    const values = Array.from({ length: rows * cols }, (_, i) => i);
    const file = encodeTorch(new Map([["w", { dtype: "float32", shape: [rows, cols], data: f32(values) }]]));
    const source = counting(memorySource(file, "w.pt"));
    const archive = await openTorchArchive(source);
    const ref = refAt(archive.value, "w");

    let before = source.bytesRead;
    const rowsBox = await archive.readTensor(ref, { offsets: [10, 0], sizes: [5, cols] });
    expect(source.bytesRead - before).toBe(5 * cols * 4);
    expect(new Float32Array(rowsBox.data.slice().buffer)[0]).toBe(10 * cols);

    before = source.bytesRead;
    const column = await archive.readTensor(ref, { offsets: [0, 7], sizes: [rows, 1] });
    expect(source.bytesRead - before).toBe(rows * 4);
    expect([...new Float32Array(column.data.slice().buffer)].slice(0, 3)).toEqual([7, cols + 7, 2 * cols + 7]);

    before = source.bytesRead;
    const block = await archive.readTensor(ref, { offsets: [100, 50], sizes: [20, 100] });
    // runs of 400 bytes separated by 400-byte gaps are read together: under twice the box
    expect(source.bytesRead - before).toBeLessThan(2 * 20 * 100 * 4);
    expect(new Float32Array(block.data.slice().buffer)[100 * 19 + 99]).toBe(119 * cols + 149);
  });

  it("readTensor() fills a destination (byte-swapped, boxes with and without gaps) and returns it", async () => {
    const values = Array.from({ length: 40 * 30 }, (_, i) => i - 600);
    const be = f32(values);
    for (let i = 0; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
    const bytes = await buildArchive({
      pickle: new Map([["w", rebuildV2("FloatStorage", "0", 40 * 30, 0, [40, 30], [30, 1])]]),
      storages: [be],
      byteorder: "big",
    });
    const archive = await openTorchArchive(memorySource(bytes, "be.pt"));
    const ref = refAt(archive.value, "w");
    const boxes = [
      { offsets: [0, 0], sizes: [40, 30] },
      { offsets: [5, 0], sizes: [7, 30] },
      { offsets: [3, 4], sizes: [20, 9] },
      { offsets: [0, 29], sizes: [40, 1] },
    ];
    for (const box of boxes) {
      const want: number[] = [];
      for (let r = 0; r < box.sizes[0]; r++) {
        for (let c = 0; c < box.sizes[1]; c++) want.push(values[(box.offsets[0] + r) * 30 + box.offsets[1] + c]);
      }
      const out = new Uint8Array(want.length * 4).fill(0xEE);
      const t = await archive.readTensor(ref, box, out);
      expect(t.data).toBe(out);
      expect(out).toEqual(f32(want));
    }
    await expect(archive.readTensor(ref, boxes[1], new Uint8Array(7 * 30 * 4 - 4))).rejects.toMatchObject({
      code: "E_USAGE",
      path: "be.pt",
    });
  });

  it("reads a whole contiguous tensor with one read of exactly its bytes", async () => {
    // 64 KiB: more than the ends read to open the archive, so the data is read on its own.
    const file = encodeTorch({
      dtype: "float32",
      shape: [128, 128],
      data: f32(Array.from({ length: 16384 }, (_, i) => i)),
    });
    const source = counting(memorySource(file, "w.pt"));
    const archive = await openTorchArchive(source);
    const before = { reads: source.reads, bytes: source.bytesRead };
    const t = await archive.readTensor(refAt(archive.value));
    expect([source.reads - before.reads, source.bytesRead - before.bytes]).toEqual([1, 16384 * 4]);
    expect(new Float32Array(t.data.buffer, t.data.byteOffset, 16384)[16383]).toBe(16383);
  });

  it("serves the first read of a small archive from the bytes read to open it, and later reads from the source", async () => {
    const file = encodeTorch({
      dtype: "float32",
      shape: [64, 32],
      data: f32(Array.from({ length: 2048 }, (_, i) => i)),
    });
    const source = counting(memorySource(file, "small.pt"));
    const archive = await openTorchArchive(source);
    expect(source.reads).toBe(1); // the whole archive, while opening
    const first = await archive.readTensor(refAt(archive.value));
    expect(source.reads).toBe(1);
    const again = await archive.readTensor(refAt(archive.value), { offsets: [1, 0], sizes: [2, 32] });
    expect([source.reads, source.bytesRead]).toEqual([2, file.byteLength + 2 * 32 * 4]);
    expect(new Float32Array(first.data.buffer, first.data.byteOffset, 2048)[2047]).toBe(2047);
    expect(new Float32Array(again.data.buffer, again.data.byteOffset, 64)[0]).toBe(32);
  });

  it("splits reads of runs with gaps into pieces of at most 8 MiB and still assembles the box", async () => {
    const rows = 2100;
    const cols = 1100; // 9.2 MB of float32: a column box has gaps and exceeds one gapped read
    const data = new Uint8Array(rows * cols * 4);
    new Int32Array(data.buffer).forEach((_, i, a) => (a[i] = i));
    const file = encodeTorch({ dtype: "int32", shape: [rows, cols], data });
    const source = counting(memorySource(file, "big.pt"));
    const archive = await openTorchArchive(source);
    const before = { reads: source.reads, bytes: source.bytesRead };
    const t = await archive.readTensor(refAt(archive.value), { offsets: [0, 100], sizes: [rows, 1000] });
    const got = new Int32Array(t.data.buffer, t.data.byteOffset, rows * 1000);
    expect([got[0], got[999], got[1000], got[rows * 1000 - 1]]).toEqual([
      100,
      1099,
      cols + 100,
      (rows - 1) * cols + 1099,
    ]);
    expect(source.reads - before.reads).toBeGreaterThan(1);
    expect(source.bytesRead - before.bytes).toBeLessThan(rows * cols * 4);
  });

  it("reads an empty box and an empty tensor without touching the storage", async () => {
    const file = encodeTorch({ dtype: "int32", shape: [4, 0], data: new Uint8Array(0) });
    const archive = await openTorchArchive(memorySource(file, "e.pt"));
    const t = await archive.readTensor(refAt(archive.value));
    expect([t.shape, t.data.length]).toEqual([[4, 0], 0]);
  });

  it("keeps none of the bytes it read to open the archive once it is open (items stay open while a job runs)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const bytes = encodeTorch({ dtype: "float32", shape: [64, 1024], data: new Uint8Array(64 * 1024 * 4) });
    // Every read hands out a fresh buffer, as file sources do, so only what the archive holds stays alive.
    const fresh = (): ByteSource => ({
      path: "item.pt",
      size: bytes.length,
      read: (offset, length) => Promise.resolve(bytes.slice(offset, offset + length)),
      close: () => Promise.resolve(),
    });
    const count = 400;
    const settled = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return process.memoryUsage().arrayBuffers;
    };
    const before = await settled();
    const open = [];
    for (let i = 0; i < count; i++) open.push(await openTorchArchive(fresh()));
    const perArchive = (await settled() - before) / count;
    expect(open).toHaveLength(count);
    // Opening reads 16 KiB at each end of the archive; holding on to them would cost 32 KiB per archive.
    expect(perArchive).toBeLessThan(4 << 10);
  });

  it("reports errors at absolute offsets for an archive inside a larger file", async () => {
    const file = encodeTorch(new Map([["x", { dtype: "uint8", shape: [3], data: Uint8Array.of(1, 2, 3) }]]));
    file[0] = 0; // the first local header's signature
    await expect(openTorchArchive(memorySource(file, "rank0.distcp"), { baseOffset: 4096 })).rejects.toMatchObject({
      code: "E_BAD_MAGIC",
      path: "rank0.distcp",
      offset: 4096,
    });
  });
});

describe("isLazyTensor()", () => {
  it("tells lazy leaves from dense tensors", () => {
    expect(isLazyTensor({ dtype: "float32", shape: [1], read: () => Promise.resolve(new Uint8Array(4)) })).toBe(true);
    expect(isLazyTensor({ dtype: "float32", shape: [1], data: new Uint8Array(4) })).toBe(false);
  });
});
