import { describe, expect, it } from "vitest";
import { type ByteSource, memorySource, readSourceInto, sliceSource } from "../../src/storage/mod.ts";
import { expectCode } from "./storage_spec.ts";

describe("memorySource()", () => {
  it("reads exact ranges as copies the caller owns", async () => {
    const backing = Uint8Array.of(1, 2, 3, 4);
    const src = memorySource(backing, "mem.bin");
    const got = await src.read(1, 2);
    expect([...got]).toEqual([2, 3]);
    got[0] = 99;
    expect(backing[1]).toBe(2);
  });

  it("rejects reads past the end with E_OUT_OF_RANGE at the requested offset", async () => {
    await expectCode(memorySource(Uint8Array.of(1, 2), "m").read(1, 2), "E_OUT_OF_RANGE", { path: "m", offset: 1 });
  });
});

describe("sliceSource()", () => {
  const file = memorySource(Uint8Array.from({ length: 32 }, (_, i) => i), "model.pt");

  it("reads relative to the slice start", async () => {
    const slice = sliceSource(file, 10, 8);
    expect(slice.size).toBe(8);
    expect(slice.path).toBe("model.pt");
    expect([...await slice.read(2, 3)]).toEqual([12, 13, 14]);
  });

  it("reports the underlying path and the absolute offset when a read leaves the slice", async () => {
    const slice = sliceSource(file, 10, 8);
    await expectCode(slice.read(6, 4), "E_OUT_OF_RANGE", { path: "model.pt", offset: 16 });
  });

  it("nests, each level adding its offset", async () => {
    const inner = sliceSource(sliceSource(file, 4, 20), 3, 5);
    expect([...await inner.read(0, 5)]).toEqual([7, 8, 9, 10, 11]);
    await expectCode(inner.read(5, 1), "E_OUT_OF_RANGE", { offset: 12 });
  });

  it("refuses a slice that does not fit in its source", () => {
    expect(() => sliceSource(file, 30, 3)).toThrow(/E_OUT_OF_RANGE/);
    expect(() => sliceSource(file, -1, 3)).toThrow(/E_USAGE/);
  });

  it("closing a slice leaves the underlying source usable", async () => {
    await sliceSource(file, 0, 4).close();
    expect([...await file.read(0, 1)]).toEqual([0]);
  });
});

describe("readSourceInto()", () => {
  const file = memorySource(Uint8Array.from({ length: 32 }, (_, i) => i), "model.pt");

  it("fills a view of a larger buffer through the source's readInto, nested slices included", async () => {
    const backing = new Uint8Array(10).fill(0xFF);
    await readSourceInto(sliceSource(sliceSource(file, 4, 20), 3, 5), 1, backing.subarray(2, 6));
    expect([...backing]).toEqual([0xFF, 0xFF, 8, 9, 10, 11, 0xFF, 0xFF, 0xFF, 0xFF]);
  });

  it("falls back to read() for a source without readInto", async () => {
    const plain: ByteSource = {
      path: file.path,
      size: file.size,
      read: (o, n) => file.read(o, n),
      close: () => file.close(),
    };
    const into = new Uint8Array(3);
    await readSourceInto(plain, 29, into);
    expect([...into]).toEqual([29, 30, 31]);
  });

  it("rejects ranges that leave the source or slice with E_OUT_OF_RANGE at the absolute offset", async () => {
    await expectCode(readSourceInto(file, 30, new Uint8Array(3)), "E_OUT_OF_RANGE", { path: "model.pt", offset: 30 });
    await expectCode(readSourceInto(sliceSource(file, 10, 8), 6, new Uint8Array(4)), "E_OUT_OF_RANGE", {
      path: "model.pt",
      offset: 16,
    });
  });
});
