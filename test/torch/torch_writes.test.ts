import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe as suite, expect, inject, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import { isTensorRef, loadTorch, openTorchArchive } from "../../src/torch/mod.ts";
import { describe, hexOf } from "./describe.ts";
import { refAt, refsOf } from "./refs.ts";

let dir = "";
let expected: Record<string, unknown> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "webdcp-torch-writes-"));
  const script = fileURLToPath(new URL("./py/torch_writes.py", import.meta.url));
  expected = JSON.parse(execFileSync(inject("python"), [script, dir], { encoding: "utf8", maxBuffer: 1 << 26 }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function source(name: string) {
  return memorySource(new Uint8Array(readFileSync(join(dir, `${name}.pt`))), `${name}.pt`);
}

suite("loadTorch() on files real torch.save wrote", () => {
  for (
    const name of ["dtypes", "zero_d_and_empty", "views", "shared", "nested", "state_dict", "parameters", "bare"]
  ) {
    it(`reads the '${name}' case bit for bit`, async () => {
      expect(describe(await loadTorch(source(name)))).toEqual(expected[name]);
    });
  }
});

suite("openTorchArchive() on files real torch.save wrote", () => {
  it("takes the archive name from the first record (torch uses the file stem for paths)", async () => {
    const archive = await openTorchArchive(source("bare"));
    expect(archive.archiveName).toBe("bare");
    await archive.verify();
  });

  it("keeps views as strided references into one shared storage", async () => {
    const archive = await openTorchArchive(source("views"));
    const t = refAt(archive.value, "t");
    expect(isTensorRef(t)).toBe(true);
    expect([t.shape, t.stride, t.storageOffset, t.storageNumel]).toEqual([[6, 4], [1, 6], 0, 24]);
    expect(refAt(archive.value, "slice").storageOffset).toBe(2);
    expect(new Set(refsOf(archive.value).filter((r) => r.dtype === "float32").map((r) => r.storageKey)).size).toBe(1);
    expect(refAt(archive.value, "conj").conj).toBe(true);
    expect(refAt(archive.value, "neg").neg).toBe(true);
  });

  it("reads a box of a contiguous tensor and of a transposed view", async () => {
    const archive = await openTorchArchive(source("views"));
    const base = await archive.readTensor(refAt(archive.value, "base"), { offsets: [5], sizes: [3] });
    expect([...new Float32Array(base.data.buffer, base.data.byteOffset, 3)]).toEqual([5, 6, 7]);
    const t = await archive.readTensor(refAt(archive.value, "t"), { offsets: [1, 2], sizes: [2, 2] });
    // t[i][j] = base[j * 6 + i]
    expect(t.shape).toEqual([2, 2]);
    expect([...new Float32Array(t.data.slice().buffer)]).toEqual([13, 19, 14, 20]);
  });

  it("unwraps parameters and keeps their requires_grad", async () => {
    const archive = await openTorchArchive(source("parameters"));
    expect(refAt(archive.value, "p").requiresGrad).toBe(true);
    expect(refAt(archive.value, "q").requiresGrad).toBe(false);
  });

  it("reads float8 and unsigned tensors through _rebuild_tensor_v3 with byte-counted storages", async () => {
    const archive = await openTorchArchive(source("dtypes"));
    const u32 = refAt(archive.value, "uint32");
    expect([u32.dtype, u32.storageNumel]).toEqual(["uint32", 4]);
    const t = await archive.readTensor(u32);
    const want = (expected.dtypes as { dict: [string, { tensor: { hex: string } }][] }).dict
      .find(([k]) => k === "uint32")![1].tensor.hex;
    expect(hexOf(t.data)).toBe(want);
  });
});
