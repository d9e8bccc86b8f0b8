import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import { readZipDirectory, type ZipEntry } from "../../src/zip/mod.ts";
import { fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { applyMutation, applyMutations, mutationsOf, paddingOverwrite, tensorByteFlip } from "./mutate.ts";
import { seed } from "./seeds.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

const archive = seed("tensors.pt");

/** Reads the directory and checks every promise it makes about the bytes it describes. */
async function directory(file: Uint8Array): Promise<ZipEntry[]> {
  const entries = await readZipDirectory(memorySource(file, "tensors.pt"));
  for (const e of entries) {
    expect(typeof e.name).toBe("string");
    for (const n of [e.localHeaderOffset, e.dataOffset, e.size]) {
      expect(Number.isSafeInteger(n) && n >= 0, e.name).toBe(true);
    }
    expect(e.dataOffset, e.name).toBeGreaterThan(e.localHeaderOffset);
    expect(e.dataOffset + e.size, e.name).toBeLessThanOrEqual(file.byteLength);
    expect(e.crc32 >>> 0, e.name).toBe(e.crc32);
  }
  return entries;
}

describe("readZipDirectory() on a mutated torch.save archive", () => {
  it("lists the unmutated seed's records where Python's zipfile puts their data", async () => {
    const entries = await directory(archive.bytes);
    const data = new Map(entries.map((e) => [e.name, e]));
    expect(entries.map((e) => e.name)).toContain("archive/data.pkl");
    expect(data.get("archive/data.pkl")).toMatchObject({
      dataOffset: archive.map.pickles[0][0],
      size: archive.map.pickles[0][1],
    });
    for (const [at, length] of archive.map.tensors) {
      expect(entries.some((e) => e.dataOffset === at && e.size === length), `record at ${at}`).toBe(true);
    }
  });

  it("readZipDirectory() returns in-bounds entries or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(archive), async (ms) => {
        const input = applyMutations(archive.bytes, ms);
        await guarded(input.byteLength, () => directory(input));
      }),
      fuzzParameters(1000),
    );
  });

  it("readZipDirectory() is blind to record contents and to torch's alignment padding", async () => {
    const original = await directory(archive.bytes);
    const unread = fc.oneof(tensorByteFlip(archive).map((f) => f.mutation), paddingOverwrite(archive));
    await fc.assert(
      fc.asyncProperty(unread, async (m) => {
        const input = applyMutation(archive.bytes, m);
        const out = await guarded(input.byteLength, () => directory(input));
        expect(out.ok && out.value).toEqual(original);
      }),
      fuzzParameters(200),
    );
  });
});
