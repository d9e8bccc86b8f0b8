import * as fs from "node:fs";
import * as nodePath from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { verify } from "../../src/jobs/mod.ts";
import { decodeMetadata, encodeMetadata, saveStateDict, storageKey } from "../../src/dcp/mod.ts";
import type { DcpMetadata } from "../../src/dcp/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import { at, removeDir, tempDir } from "./fixtures.ts";

let dir: string;

/** A 2-rank DCP of one [4, 3] float32 tensor (rows 0-1 on rank 0, 2-3 on rank 1) and one value. */
beforeEach(async () => {
  dir = tempDir("verify");
  const w = makeTensor("float32", [4, 3], new Uint8Array(new Float32Array(12).map((_, i) => i).buffer));
  await saveStateDict(at(dir).storage, "", { w, step: 7 }, { ranks: 2 });
});
afterEach(() => removeDir(dir));

function editMetadata(edit: (m: DcpMetadata) => void): void {
  const path = nodePath.join(dir, ".metadata");
  const meta = decodeMetadata(new Uint8Array(fs.readFileSync(path)), ".metadata");
  edit(meta);
  fs.writeFileSync(path, encodeMetadata(meta));
}

function moveChunk(m: DcpMetadata, fqn: string, from: number[], to: number[]): void {
  const e = m.stateDictMetadata.get(fqn)!;
  if (e.kind !== "tensor") throw new Error("not a tensor");
  const chunk = e.chunks.find((c) => c.offsets.join() === from.join())!;
  const item = m.storageData.get(storageKey(fqn, from))!;
  m.storageData.delete(storageKey(fqn, from));
  chunk.offsets = to;
  m.storageData.set(storageKey(fqn, to), { ...item, offsets: to });
}

describe("verify() on DCP", () => {
  test("a sound checkpoint passes, shallow and deep", async () => {
    expect(await verify(at(dir))).toMatchObject({ ok: true, problems: [] });
    const deep = await verify(at(dir), { deep: true });
    expect(deep.ok).toBe(true);
    expect(deep.checked).toMatchObject({ tensors: 1, values: 1, items: 3, files: 2 });
    expect(deep.checked.bytesRead).toBeGreaterThan(0);
  });
});

describe("verify() on DCP (adversarial)", () => {
  test("catches a gap: a chunk dropped from .metadata", async () => {
    editMetadata((m) => {
      const e = m.stateDictMetadata.get("w")!;
      if (e.kind === "tensor") e.chunks = e.chunks.filter((c) => c.offsets[0] === 0);
    });
    const r = await verify(at(dir));
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ code: "E_GAP", path: ".metadata", entry: "w" })]);
    expect(r.problems[0].message).toMatch(/cover 6 of 12 elements/);
  });

  test("catches an overlap: a chunk moved onto its neighbour", async () => {
    editMetadata((m) => moveChunk(m, "w", [2, 0], [1, 0]));
    const r = await verify(at(dir));
    expect(r.problems.map((p) => p.code)).toEqual(["E_OVERLAP"]);
  });

  test("catches a truncated data file and names the file and the item's offset", async () => {
    const file = nodePath.join(dir, "__1_0.distcp");
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 10);
    const r = await verify(at(dir));
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(
      expect.objectContaining({ code: "E_OUT_OF_RANGE", path: "__1_0.distcp", entry: "w" }),
    );
    expect(r.problems[0].offset).toBeLessThan(size);
  });

  test("catches a missing data file", async () => {
    fs.rmSync(nodePath.join(dir, "__0_0.distcp"));
    const r = await verify(at(dir));
    expect(r.problems).toContainEqual(expect.objectContaining({ code: "E_NOT_FOUND", path: "__0_0.distcp" }));
  });

  test("--deep catches a flipped data byte through the zip CRC; the shallow check does not read data", async () => {
    const file = nodePath.join(dir, "__1_0.distcp");
    const bytes = fs.readFileSync(file);
    // float32 rows 2-3 hold 6.0 .. 11.0; flip the low byte of the first 8.0 (0x41000000).
    const at8 = bytes.indexOf(Buffer.from([0x00, 0x00, 0x00, 0x41]));
    expect(at8).toBeGreaterThan(0);
    bytes[at8] ^= 0x01;
    fs.writeFileSync(file, bytes);
    expect((await verify(at(dir))).ok).toBe(true);
    const deep = await verify(at(dir), { deep: true });
    expect(deep.problems.map((p) => p.code)).toEqual(["E_BAD_CRC"]);
  });

  test("an item whose tensor disagrees with .metadata about its shape is listed", async () => {
    editMetadata((m) => {
      const e = m.stateDictMetadata.get("w")!;
      if (e.kind === "tensor") {
        e.size = [4, 2];
        for (const c of e.chunks) c.sizes = [2, 2];
      }
    });
    const r = await verify(at(dir));
    expect(r.problems.map((p) => p.code)).toEqual(["E_SHAPE", "E_SHAPE"]);
  });

  test("unreadable .metadata is one problem, not a crash", async () => {
    fs.writeFileSync(nodePath.join(dir, ".metadata"), Uint8Array.of(0x80, 0x04, 0x95));
    const r = await verify(at(dir));
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].path).toBe(".metadata");
  });
});

describe("verify() on safetensors (adversarial)", () => {
  test("a truncated .safetensors file is a problem with its path", async () => {
    const header = new TextEncoder().encode('{"t":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ');
    const file = new Uint8Array(8 + header.length + 12);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(header, 8);
    fs.writeFileSync(nodePath.join(dir, "t.safetensors"), file);
    const r = await verify(at(dir, "t.safetensors"), { deep: true });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ path: "t.safetensors" });
  });
});
