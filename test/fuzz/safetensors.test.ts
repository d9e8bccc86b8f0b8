import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { openSafetensorsFolder, readSafetensorsHeader, readSafetensorsTensor } from "../../src/safetensors/mod.ts";
import type { SafetensorsHeader } from "../../src/safetensors/mod.ts";
import { memorySource, MemoryStorage } from "../../src/storage/mod.ts";
import { itemsize } from "../../src/dtype/mod.ts";
import { numel } from "../../src/tensor/mod.ts";
import { checkTensor, fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { applyMutation, applyMutations, mutationsOf, tensorByteFlip } from "./mutate.ts";
import { expected, hex, seed } from "./seeds.ts";
import { cutBox, upperHalf } from "./walk.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

const single = seed("model.safetensors");
const folderFiles = [
  "model-00001-of-00002.safetensors",
  "model-00002-of-00002.safetensors",
  "model.safetensors.index.json",
]
  .map((f) => seed(`folder/${f}`));

/** Reads the header and every tensor, checking what an accepted header promises about the file. */
async function readAll(
  file: Uint8Array,
  path: string,
): Promise<{ header: SafetensorsHeader; hexes: Map<string, string> }> {
  const source = memorySource(file, path);
  const header = await readSafetensorsHeader(source);
  // Accepted tensors tile the data buffer exactly, each with numel * itemsize bytes.
  let cursor = header.dataStart;
  for (const [name, info] of header.tensors) {
    expect(info.begin, name).toBe(cursor);
    expect(info.end - info.begin, name).toBe(numel(info.shape) * itemsize(info.dtype));
    cursor = info.end;
  }
  expect(cursor).toBe(file.byteLength);
  const hexes = new Map<string, string>();
  for (const [name, info] of header.tensors) {
    const t = await readSafetensorsTensor(source, header, name);
    checkTensor(t, file.byteLength, name);
    // safetensors is raw little-endian row-major: the tensor is exactly its byte range.
    expect(hex(t.data), name).toBe(hex(file.subarray(info.begin, info.end)));
    const box = upperHalf(info.shape);
    const part = await readSafetensorsTensor(source, header, name, box);
    checkTensor(part, file.byteLength, `${name} box`);
    expect(hex(part.data), `${name}: box read = box cut from the whole read`).toBe(hex(cutBox(t, box)));
    hexes.set(name, hex(t.data));
  }
  return { header, hexes };
}

describe("readSafetensorsHeader() + readSafetensorsTensor() on a mutated save_file output", () => {
  it("reads the unmutated seed as safetensors wrote it", async () => {
    const { header, hexes } = await readAll(single.bytes, single.name);
    for (const [name, want] of Object.entries(expected["model.safetensors"])) {
      expect(header.tensors.get(name)).toMatchObject({ dtype: want.dtype, shape: want.shape });
      expect(hexes.get(name), name).toBe(want.hex);
    }
    expect(header.metadata).toEqual({ format: "pt" });
  });

  it("readSafetensorsHeader() accepts a header that tiles the file, or throws a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(single), async (ms) => {
        const input = applyMutations(single.bytes, ms);
        await guarded(input.byteLength, () => readAll(input, single.name));
      }),
      fuzzParameters(800),
    );
  });

  it("a bit flip in a tensor's bytes changes only that tensor, at that byte", async () => {
    const original = await readAll(single.bytes, single.name);
    await fc.assert(
      fc.asyncProperty(tensorByteFlip(single), async ({ mutation, owner }) => {
        const input = applyMutation(single.bytes, mutation);
        const out = await guarded(input.byteLength, () => readAll(input, single.name));
        expect(out.ok).toBe(true);
        if (!out.ok) return;
        expect(out.value.header).toEqual(original.header);
        for (const [name, h] of out.value.hexes) {
          if (name === owner) expect(h).not.toBe(original.hexes.get(name));
          else expect(h, name).toBe(original.hexes.get(name));
        }
      }),
      fuzzParameters(200),
    );
  });
});

describe("openSafetensorsFolder() on a mutated sharded folder with an index", () => {
  async function readFolder(files: { name: string; bytes: Uint8Array }[]): Promise<Map<string, string>> {
    const storage = new MemoryStorage();
    for (const f of files) await storage.writeAll(f.name.replace(/^folder\//, "model/"), f.bytes);
    const folder = await openSafetensorsFolder(storage, "model");
    const hexes = new Map<string, string>();
    try {
      for (const [name, info] of folder.tensors) {
        const t = await folder.readTensor(name);
        const file = files.find((f) => f.name.replace(/^folder\//, "model/") === info.file)!.bytes;
        checkTensor(t, file.byteLength, name);
        expect(hex(t.data), name).toBe(hex(file.subarray(info.begin, info.end)));
        hexes.set(name, hex(t.data));
      }
    } finally {
      await folder.close();
    }
    return hexes;
  }

  it("reads the unmutated folder as safetensors wrote it", async () => {
    const hexes = await readFolder(folderFiles);
    expect(Object.fromEntries(hexes)).toEqual(
      Object.fromEntries(Object.entries(expected.folder).map(([k, v]) => [k, v.hex])),
    );
  });

  it("openSafetensorsFolder() reads every indexed tensor from its bytes, or throws a typed error", async () => {
    const mutatedFolder = fc.nat({ max: folderFiles.length - 1 }).chain((i) =>
      mutationsOf(folderFiles[i]).map((ms) => ({ i, ms }))
    );
    await fc.assert(
      fc.asyncProperty(mutatedFolder, async ({ i, ms }) => {
        const files = folderFiles.map((f, j) => (j === i ? { ...f, bytes: applyMutations(f.bytes, ms) } : f));
        const total = files.reduce((n, f) => n + f.bytes.byteLength, 0);
        await guarded(total, () => readFolder(files));
      }),
      fuzzParameters(500),
    );
  });
});
