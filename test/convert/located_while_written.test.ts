import { describe, expect, test } from "vitest";
import { convert, reshard } from "../../src/jobs/mod.ts";
import { dimSplitLayout, openDcp, saveStateDict } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";

const engine = createCpuEngine();

function tensor(rows: number, seed: number): Tensor {
  return {
    dtype: "float32",
    shape: [rows, 4],
    data: Uint8Array.from({ length: rows * 16 }, (_, i) => (i + seed) & 0x7f),
  };
}

/**
 * A 2-rank DCP of twelve tensors whose last item in the file of rank 1 (the chunk a writer locates last) has
 * its zip local header wiped, so the checkpoint opens but that chunk's bytes cannot be located.
 */
async function brokenLate(): Promise<{ storage: MemoryStorage; file: string }> {
  const storage = new MemoryStorage();
  const names = Array.from({ length: 12 }, (_, i) => `layer${String(i).padStart(2, "0")}.weight`);
  const meta = await saveStateDict(storage, "src", Object.fromEntries(names.map((n, i) => [n, tensor(6, i)])), {
    ranks: 2,
  });
  const items = [...meta.storageData.values()].filter((s) => s.info.relativePath === "__1_0.distcp");
  const last = items.reduce((a, b) => (b.info.offset > a.info.offset ? b : a));
  const file = "src/__1_0.distcp";
  const bytes = await storage.readAll(file);
  bytes.fill(0, last.info.offset, last.info.offset + 4);
  await storage.writeAll(file, bytes);
  return { storage, file };
}

describe("DCP outputs locate their chunks while the rank files are written", () => {
  test("a chunk that cannot be located fails the job with the source's error, and no .metadata or rank file is left", async () => {
    for (const job of ["convert", "reshard"] as const) {
      const { storage, file } = await brokenLate();
      const out = { storage, path: "out" };
      const run = job === "convert"
        ? convert({ storage, path: "src" }, out, { to: "dcp", engine })
        : reshard({ storage, path: "src" }, out, { layout: dimSplitLayout(3), engine });
      const error = await run.catch((e) => e);
      expect(error, job).toBeInstanceOf(WebdcpError);
      expect(error, job).toMatchObject({ code: "E_BAD_MAGIC", path: file });
      expect(await storage.list("out"), job).toEqual(expect.not.arrayContaining([expect.anything()]));
    }
  });

  test("the same checkpoint unbroken reshards to 3 ranks with every tensor's bytes as saved", async () => {
    const storage = new MemoryStorage();
    const sd = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`t${i}`, tensor(6, i)]));
    await saveStateDict(storage, "src", sd, { ranks: 2 });
    await reshard({ storage, path: "src" }, { storage, path: "out" }, { layout: dimSplitLayout(3), engine });
    const out = await openDcp(storage, "out");
    for (const [name, t] of Object.entries(sd)) {
      expect(out.metadata.stateDictMetadata.get(name), name).toMatchObject({ chunks: { length: 3 } });
      expect((await out.readTensor(name)).data, name).toEqual(t.data);
    }
  });
});
