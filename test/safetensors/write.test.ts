import { describe, expect, it } from "vitest";
import { readSafetensorsHeader, readSafetensorsTensor, writeSafetensors } from "../../src/safetensors/mod.ts";
import type { SafetensorsEntry } from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { expectCode } from "../storage/storage_spec.ts";

async function written(entries: SafetensorsEntry[], metadata?: Record<string, string>): Promise<Uint8Array> {
  const s = new MemoryStorage();
  const sink = await s.create("out.safetensors");
  await writeSafetensors(sink, entries, metadata);
  await sink.close();
  return s.readAll("out.safetensors");
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("writeSafetensors()", () => {
  it("writes FORMATS.md's worked example byte for byte", async () => {
    const data = new Uint8Array(Int32Array.of(1, 2, 3, 4).buffer);
    const out = await written([{ name: "t", dtype: "int32", shape: [2, 2], data }]);
    expect(out.length).toBe(88);
    expect([...out.subarray(0, 8)]).toEqual([0x40, 0, 0, 0, 0, 0, 0, 0]);
    expect(text(out.subarray(8, 72))).toBe('{"t":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ');
    expect([...out.subarray(72)]).toEqual([...data]);
  });

  it("writes an empty dict as `{}` padded to 8, like the reference's test vector", async () => {
    expect([...await written([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  it("orders by the reference dtype rank (descending) then name, with __metadata__ first", async () => {
    const e = (name: string, dtype: SafetensorsEntry["dtype"]) => ({ name, dtype, shape: [0], data: new Uint8Array() });
    const out = await written(
      [
        e("b", "uint8"),
        e("a", "uint8"),
        e("f32", "float32"),
        e("i32", "int32"),
        e("c64", "complex64"),
        e("i64", "int64"),
      ],
      { format: "pt" },
    );
    const header = JSON.parse(text(out.subarray(8)).trimEnd());
    expect(Object.keys(header)).toEqual(["__metadata__", "i64", "c64", "f32", "i32", "a", "b"]);
  });

  it("pulls provider data one entry at a time, accepting async chunk streams", async () => {
    const order: string[] = [];
    const out = await written([
      {
        name: "x",
        dtype: "uint8",
        shape: [4],
        data: () => (order.push("x"), Promise.resolve(Uint8Array.of(1, 2, 3, 4))),
      },
      {
        name: "y",
        dtype: "uint8",
        shape: [3],
        data: () => {
          order.push("y");
          return Promise.resolve((async function* () {
            yield Uint8Array.of(7);
            yield Uint8Array.of(8, 9);
          })());
        },
      },
    ]);
    expect(order).toEqual(["x", "y"]);
    const s = new MemoryStorage();
    await s.writeAll("f", out);
    const src = await s.open("f");
    const h = await readSafetensorsHeader(src);
    expect([...(await readSafetensorsTensor(src, h, "y")).data]).toEqual([7, 8, 9]);
  });

  it("rejects duplicate names, dtypes safetensors cannot hold and data of the wrong size", async () => {
    const s = new MemoryStorage();
    const sink = await s.create("bad");
    const one = { name: "a", dtype: "uint8" as const, shape: [1], data: Uint8Array.of(1) };
    await expectCode(writeSafetensors(sink, [one, one]), "E_USAGE");
    await expectCode(writeSafetensors(sink, [{ ...one, dtype: "complex128" }]), "E_DTYPE");
    await expectCode(writeSafetensors(sink, [{ ...one, shape: [2] }]), "E_SHAPE");
    expect(sink.position).toBe(0);
    await expectCode(writeSafetensors(sink, [{ ...one, data: () => Promise.resolve(Uint8Array.of(1, 2)) }]), "E_SHAPE");
    await sink.abort();
  });
});
