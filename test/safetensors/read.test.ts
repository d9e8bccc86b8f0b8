import { describe, expect, it } from "vitest";
import { locateSafetensorsTensor, readSafetensorsHeader, readSafetensorsTensor } from "../../src/safetensors/mod.ts";
import { memorySource } from "../../src/storage/mod.ts";
import { stFile } from "./helpers.ts";
import { expectCode } from "../storage/storage_spec.ts";

// FORMATS.md 6.1's worked example: I32 [[1,2],[3,4]], 57-byte header padded to 64, 88 bytes in all.
const EXAMPLE = Uint8Array.of(
  0x40,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  ...new TextEncoder().encode('{"t":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       '),
  1,
  0,
  0,
  0,
  2,
  0,
  0,
  0,
  3,
  0,
  0,
  0,
  4,
  0,
  0,
  0,
);

describe("readSafetensorsHeader()", () => {
  it("parses the worked example with absolute offsets", async () => {
    expect(EXAMPLE.length).toBe(88);
    const h = await readSafetensorsHeader(memorySource(EXAMPLE, "t.safetensors"));
    expect(h.dataStart).toBe(72);
    expect(h.metadata).toBeUndefined();
    expect([...h.tensors]).toEqual([["t", { dtype: "int32", shape: [2, 2], begin: 72, end: 88 }]]);
  });

  it("returns tensors in data order whatever the header order, with __metadata__ anywhere", async () => {
    const file = stFile(
      '{"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"__metadata__":{"format":"pt"},' +
        '"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"z":{"dtype":"BOOL","shape":[0],"data_offsets":[3,3]}}',
      [0, 0x3c, 7],
    );
    const h = await readSafetensorsHeader(memorySource(file, "f"));
    expect([...h.tensors.keys()]).toEqual(["a", "b", "z"]);
    expect(h.metadata).toEqual({ format: "pt" });
  });

  it("accepts an empty file header `{}` and 0-d tensors", async () => {
    expect((await readSafetensorsHeader(memorySource(stFile("{}"), "e"))).tensors.size).toBe(0);
    const h = await readSafetensorsHeader(
      memorySource(stFile('{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}', new Array(8).fill(0)), "s"),
    );
    expect(h.tensors.get("s")!.shape).toEqual([]);
  });

  it("treats `__metadata__: null` as no metadata and ignores unknown tensor fields, like the reference", async () => {
    const h = await readSafetensorsHeader(
      memorySource(
        stFile('{"__metadata__":null,"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[1]}}', [5]),
        "n",
      ),
    );
    expect(h.metadata).toBeUndefined();
    expect(h.tensors.get("a")!.begin).toBe(h.dataStart);
  });
});

describe("readSafetensorsTensor()", () => {
  const rows = Array.from({ length: 4 * 3 }, (_, i) => i); // U8 [4,3] = 0..11
  const file = stFile('{"m":{"dtype":"U8","shape":[4,3],"data_offsets":[0,12]}}', rows);

  it("reads the whole tensor densely", async () => {
    const src = memorySource(EXAMPLE, "t");
    const t = await readSafetensorsTensor(src, await readSafetensorsHeader(src), "t");
    expect(t.dtype).toBe("int32");
    expect([...new Int32Array(t.data.buffer)]).toEqual([1, 2, 3, 4]);
  });

  it("reads a box, touching only the rows it spans", async () => {
    const inner = memorySource(file, "m");
    const reads: [number, number][] = [];
    const counting = { ...inner, read: (o: number, n: number) => (reads.push([o, n]), inner.read(o, n)) };
    const h = await readSafetensorsHeader(inner);
    const t = await readSafetensorsTensor(counting, h, "m", { offsets: [1, 1], sizes: [2, 2] });
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([4, 5, 7, 8]);
    expect(reads).toEqual([[h.dataStart + 3, 6]]);
  });

  it("returns an empty tensor for an empty box without reading", async () => {
    const src = memorySource(file, "m");
    const t = await readSafetensorsTensor(src, await readSafetensorsHeader(src), "m", {
      offsets: [4, 0],
      sizes: [0, 3],
    });
    expect(t.shape).toEqual([0, 3]);
    expect(t.data.length).toBe(0);
  });

  it("rejects an unknown name (E_MISSING_KEY) and a box outside the shape (E_OUT_OF_RANGE)", async () => {
    const src = memorySource(file, "m");
    const h = await readSafetensorsHeader(src);
    await expectCode(readSafetensorsTensor(src, h, "nope"), "E_MISSING_KEY", { path: "m" });
    await expectCode(readSafetensorsTensor(src, h, "m", { offsets: [3, 0], sizes: [2, 3] }), "E_OUT_OF_RANGE");
    await expectCode(readSafetensorsTensor(src, h, "m", { offsets: [0], sizes: [1] }), "E_OUT_OF_RANGE");
  });
});

describe("locateSafetensorsTensor()", () => {
  const file = stFile(
    '{"m":{"dtype":"I16","shape":[4,3],"data_offsets":[0,24]}}',
    Array.from({ length: 24 }, (_, i) => i),
  );

  it("gives the file range of a box of whole rows, holding exactly the bytes a read returns", async () => {
    const source = memorySource(file, "m.safetensors");
    const header = await readSafetensorsHeader(source);
    const box = { offsets: [1, 0], sizes: [2, 3] };
    const [range] = locateSafetensorsTensor(source, header, "m", box)!;
    expect(range.record).toBeUndefined();
    expect(file.subarray(range.offset, range.offset + range.length)).toEqual(
      (await readSafetensorsTensor(source, header, "m", box)).data,
    );
  });

  it("is undefined for a box of partial rows, and refuses unknown names and boxes outside the tensor", async () => {
    const source = memorySource(file, "m.safetensors");
    const header = await readSafetensorsHeader(source);
    expect(locateSafetensorsTensor(source, header, "m", { offsets: [0, 1], sizes: [4, 2] })).toBeUndefined();
    expect(() => locateSafetensorsTensor(source, header, "x", { offsets: [0, 0], sizes: [1, 3] })).toThrow(
      expect.objectContaining({ code: "E_MISSING_KEY" }),
    );
    expect(() => locateSafetensorsTensor(source, header, "m", { offsets: [3, 0], sizes: [2, 3] })).toThrow(
      expect.objectContaining({ code: "E_OUT_OF_RANGE" }), // as readSafetensorsTensor says it
    );
  });
});
