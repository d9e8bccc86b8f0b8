import { expect, test } from "vitest";
import { MemorySink } from "../../src/storage/mod.ts";

test("MemorySink copies each write, hands exactly the bytes written to onClose, and refuses use after close", async () => {
  let published: Uint8Array | undefined;
  const sink = new MemorySink("m.bin", (bytes) => published = bytes);
  const reused = Uint8Array.of(1, 2, 3);
  await sink.write(reused);
  reused.fill(9);
  await sink.write(new Uint8Array(2000).fill(7));
  expect(sink.position).toBe(2003);
  await sink.close();
  expect(published?.byteLength).toBe(2003);
  expect([...published!.subarray(0, 4)]).toEqual([1, 2, 3, 7]);
  expect(published!.buffer.byteLength).toBe(2003);
  await expect(sink.write(Uint8Array.of(1))).rejects.toMatchObject({ code: "E_USAGE", path: "m.bin" });
  await expect(sink.close()).rejects.toMatchObject({ code: "E_USAGE" });
});

test("MemorySink.abort() drops the bytes and publishes nothing", async () => {
  let published = false;
  const sink = new MemorySink("m.bin", () => published = true);
  await sink.write(Uint8Array.of(1, 2));
  await sink.abort();
  expect(sink.bytes().byteLength).toBe(0);
  await expect(sink.close()).rejects.toMatchObject({ code: "E_USAGE" });
  expect(published).toBe(false);
});
