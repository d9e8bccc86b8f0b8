import { describe, expect, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { encodeTorch, type LazyTensor, openTorchArchive, saveTorch, torchDataOffset } from "../../src/torch/mod.ts";
import { readZipDirectory } from "../../src/zip/mod.ts";
import { PyTuple, type PyValue } from "../../src/pickle/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

const t = (n: number): Tensor => ({ dtype: "uint8", shape: [n], data: new Uint8Array(n).fill(n) });

describe("saveTorch()", () => {
  it("writes torch's newest record set in order, every record 64-byte aligned", async () => {
    const bytes = encodeTorch(new Map([["a", t(3)], ["b", t(5)]]));
    const entries = await readZipDirectory(memorySource(bytes, "s.pt"));
    expect(entries.map((e) => e.name)).toEqual([
      "archive/data.pkl",
      "archive/.format_version",
      "archive/.storage_alignment",
      "archive/byteorder",
      "archive/data/0",
      "archive/data/1",
      "archive/version",
      "archive/.data/serialization_id",
    ]);
    for (const e of entries) expect(e.dataOffset % 64).toBe(0);
    const text = (name: string) => {
      const e = entries.find((x) => x.name === `archive/${name}`)!;
      return new TextDecoder().decode(bytes.subarray(e.dataOffset, e.dataOffset + e.size));
    };
    expect([text(".format_version"), text(".storage_alignment"), text("byteorder"), text("version")]).toEqual([
      "1",
      "64",
      "little",
      "3\n",
    ]);
    expect(text(".data/serialization_id")).toMatch(/^\d{40}$/);
  });

  it("is deterministic: the same value gives the same bytes", () => {
    const value = new Map([["x", t(4)]]);
    expect(encodeTorch(value)).toEqual(encodeTorch(value));
  });

  it("writes at the sink's position with offsets relative to the archive start", async () => {
    const sink = new BufferSink();
    await sink.write(new Uint8Array(1000));
    await saveTorch(sink, t(2), { archiveName: "item" });
    const archive = await openTorchArchive(memorySource(sink.bytes().slice(1000), "item.pt"));
    expect(archive.archiveName).toBe("item");
    for (const e of archive.records.values()) expect(e.dataOffset % 64).toBe(0);
  });

  it("pulls lazy tensors one at a time, after data.pkl and each previous storage are written", async () => {
    const sink = new BufferSink();
    const events: string[] = [];
    const lazy = (name: string, n: number): LazyTensor => ({
      dtype: "uint8",
      shape: [n],
      read: () => {
        events.push(`${name}@${sink.position}`);
        return Promise.resolve(new Uint8Array(n).fill(n));
      },
    });
    await saveTorch(sink, new Map([["a", lazy("a", 100)], ["b", lazy("b", 7)]]));
    const entries = await readZipDirectory(memorySource(sink.bytes(), "l.pt"));
    const a = entries.find((e) => e.name === "archive/data/0")!;
    const b = entries.find((e) => e.name === "archive/data/1")!;
    expect(events).toEqual([`a@${a.localHeaderOffset}`, `b@${b.localHeaderOffset}`]);
  });

  it("refuses a lazy tensor that delivers the wrong number of bytes", async () => {
    const bad: LazyTensor = { dtype: "float32", shape: [2], read: () => Promise.resolve(new Uint8Array(7)) };
    await expect(saveTorch(new BufferSink(), bad)).rejects.toMatchObject({ code: "E_USAGE" });
  });

  it("torchDataOffset() says where the first storage's data lands, before anything is written", async () => {
    for (const value of [t(3), new Map([["a", t(1000)], ["b", t(5)]]), new Map([["none", 1]])]) {
      const bytes = encodeTorch(value as never);
      const first = (await readZipDirectory(memorySource(bytes, "x.pt"))).find((e) => e.name === "archive/data/0");
      expect(torchDataOffset(value as never)).toBe(first?.dataOffset);
    }
  });

  it("streams a lazy tensor given as pieces into one record, byte-identical to saving it whole", async () => {
    const whole = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13) & 0xff);
    const pieces = async function* () {
      for (let at = 0; at < whole.byteLength; at += 300) yield whole.slice(at, at + 300);
    };
    const sink = new BufferSink();
    const lazy: LazyTensor = { dtype: "int16", shape: [500], read: () => Promise.resolve(pieces()) };
    await saveTorch(sink, new Map([["x", lazy]]));
    expect(sink.bytes()).toEqual(encodeTorch(new Map([["x", { dtype: "int16", shape: [500], data: whole }]])));
  });

  it("refuses pieces that add up to more or fewer bytes than the tensor, naming dtype and shape", async () => {
    const gen = (sizes: number[]) =>
      async function* () {
        for (const n of sizes) yield new Uint8Array(n);
      };
    for (const sizes of [[4, 8], [4, 2]]) {
      const lazy: LazyTensor = { dtype: "float32", shape: [2], read: () => Promise.resolve(gen(sizes)()) };
      await expect(saveTorch(new BufferSink(), lazy)).rejects.toMatchObject({
        code: "E_USAGE",
        message: expect.stringContaining("float32[2]"),
      });
    }
  });

  it("refuses a tensor whose data does not match its shape, and bad archive names", () => {
    expect(() => encodeTorch({ dtype: "int32", shape: [3], data: new Uint8Array(8) })).toThrow(
      expect.objectContaining({ code: "E_USAGE" }),
    );
    expect(() => encodeTorch(t(1), { archiveName: "a/b" })).toThrow(expect.objectContaining({ code: "E_USAGE" }));
    expect(() => encodeTorch(t(1), { serializationId: "123" })).toThrow(expect.objectContaining({ code: "E_USAGE" }));
  });

  it("encodeTorch() keeps a tuple that holds itself through a list, and shared tensors, as one object each", async () => {
    const list: PyValue[] = [];
    const tup = new PyTuple([list]);
    const w = t(2);
    list.push(tup, w, w);
    const archive = await openTorchArchive(memorySource(encodeTorch(new Map([["x", tup]])), "c.pt"));
    const back = (archive.value as Map<string, PyTuple>).get("x")!;
    const items = back.items[0] as PyValue[];
    expect(items[0]).toBe(back);
    expect(items[1]).toBe(items[2]);
  });

  it("encodeTorch() of a value nested 100k deep refuses with E_LIMIT maxDepth (no stack overflow)", () => {
    let deep: PyValue = t(1) as unknown as PyValue;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => encodeTorch(new Map([["x", deep]]))).toThrowError(
      expect.objectContaining({ code: "E_LIMIT", limit: "maxDepth" }),
    );
  });
});
