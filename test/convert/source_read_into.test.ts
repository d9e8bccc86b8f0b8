import { describe, expect, test } from "vitest";
import { openTensorSource } from "../../src/source/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { writeSafetensors } from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { encodeTorch } from "../../src/torch/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";

/** int16 [4, 2] holding 0..7, so any row range is easy to spell out. */
const rows = makeTensor("int16", [4, 2], new Uint8Array(Int16Array.of(0, 1, 2, 3, 4, 5, 6, 7).buffer));
const rows1to2 = new Uint8Array(Int16Array.of(2, 3, 4, 5).buffer);
const band = { offsets: [1, 0], sizes: [2, 2] };

async function sources(): Promise<Array<[string, MemoryStorage, string]>> {
  const st = new MemoryStorage();
  const sink = await st.create("w.safetensors");
  await writeSafetensors(sink, [{ name: "w", dtype: "int16", shape: [4, 2], data: rows.data }]);
  await sink.close();
  const dcp = new MemoryStorage();
  await saveStateDict(dcp, "ckpt", new Map([["w", rows]]), { ranks: 2 });
  const pt = new MemoryStorage();
  await pt.writeAll("w.pt", encodeTorch(new Map([["w", rows]])));
  return [["safetensors", st, "w.safetensors"], ["dcp", dcp, "ckpt"], ["torch", pt, "w.pt"]];
}

describe("TensorSource.readTensor() with out", () => {
  test("every source format fills the given buffer and returns it as the data", async () => {
    for (const [format, storage, path] of await sources()) {
      const source = await openTensorSource(storage, path);
      const out = new Uint8Array(8);
      const t = await source.readTensor("w", band, out);
      expect(t.data, format).toBe(out);
      expect(out, format).toEqual(rows1to2);
      await source.close();
    }
  });

  test("every source format rejects a buffer of the wrong size with E_USAGE", async () => {
    for (const [format, storage, path] of await sources()) {
      const source = await openTensorSource(storage, path);
      const error = await source.readTensor("w", band, new Uint8Array(6)).catch((e) => e);
      expect(error, format).toBeInstanceOf(WebdcpError);
      expect((error as WebdcpError).code, format).toBe("E_USAGE");
      await source.close();
    }
  });
});
