import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import { isTensorRef, openTorchArchive, type TensorRef } from "../../src/torch/mod.ts";
import { crc32 } from "../../src/zip/mod.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "webdcp-ranges-"));
  execFileSync(inject("python"), [fileURLToPath(new URL("./py/torch_save_ranges.py", import.meta.url)), dir]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(name: string) {
  const bytes = new Uint8Array(readFileSync(join(dir, name)));
  const archive = await openTorchArchive(memorySource(bytes, name));
  const ref = (key: string) => {
    const r = (archive.value as Map<string, unknown>).get(key);
    if (!isTensorRef(r)) throw new Error(`${key} is not a tensor`);
    return r as TensorRef;
  };
  return { bytes, archive, ref };
}

describe("TorchArchive.storedRange() on files torch wrote", () => {
  it("gives where torch stored a box of rows, with a checksummed record whose CRCs agree with the bytes", async () => {
    const { bytes, archive, ref } = await open("crc_on.pt");
    const range = archive.storedRange(ref("w"), { offsets: [10, 0], sizes: [20, 16] })!;
    expect(range.length).toBe(20 * 16 * 4);
    const floats = new Float32Array(bytes.slice(range.offset, range.offset + range.length).buffer);
    expect([floats[0], floats[floats.length - 1]]).toEqual([160, 160 + 20 * 16 - 1]);
    expect(range.record).toBeDefined();
    const run = [range.offset, range.offset + range.length] as const;
    expect(await range.record!.crc32(...run)).toBe(crc32(bytes.subarray(...run)));
  });

  it("gives no record when torch's CRCs were turned off (they are 0): the CRC must then be read", async () => {
    const { archive, ref } = await open("crc_off.pt");
    const range = archive.storedRange(ref("w"), { offsets: [0, 0], sizes: [64, 16] })!;
    expect(range.length).toBe(64 * 16 * 4);
    expect(range.record).toBeUndefined();
  });

  it("is undefined for a box that is not one run, and for a view that is not contiguous", async () => {
    const { archive, ref } = await open("crc_on.pt");
    expect(archive.storedRange(ref("w"), { offsets: [0, 0], sizes: [4, 8] })).toBeUndefined();
    expect(archive.storedRange(ref("w"), { offsets: [3, 2], sizes: [1, 8] })).toBeDefined(); // part of one row
    expect(archive.storedRange(ref("t"), { offsets: [0, 0], sizes: [4, 3] })).toBeUndefined();
  });
});
