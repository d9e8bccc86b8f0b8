import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import { encodeTorch, loadTorch, openTorchArchive } from "../../src/torch/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";
import { saveTorch } from "../../src/torch/mod.ts";

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "webdcp-torch-bytes-"));
  execFileSync(inject("python"), [fileURLToPath(new URL("./py/torch_save_bytes.py", import.meta.url)), dir]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** torch's own serialization id, the one part of the file that is a hash we do not reproduce. */
async function serializationId(bytes: Uint8Array): Promise<string> {
  const archive = await openTorchArchive(memorySource(bytes, "torch.pt"));
  const e = archive.records.get("archive/.data/serialization_id")!;
  return new TextDecoder().decode(bytes.subarray(e.dataOffset, e.dataOffset + e.size));
}

describe("encodeTorch() against torch.save(obj, BytesIO)", () => {
  for (
    const [name, what] of [
      ["dict", "a dict of tensors of every torch.save dtype, 0-d and empty"],
      ["bare", "a bare tensor"],
      ["shared", "a dict holding one tensor twice"],
    ]
  ) {
    it(`writes the same bytes for ${what}, serialization id aside`, async () => {
      const theirs = new Uint8Array(readFileSync(join(dir, `${name}.pt`)));
      const value = await loadTorch(memorySource(theirs, `${name}.pt`));
      const id = await serializationId(theirs);
      const ours = encodeTorch(value, { serializationId: id });
      expect(ours.length).toBe(theirs.length);
      expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);

      const streamed = new BufferSink();
      await saveTorch(streamed, value, { serializationId: id });
      expect(Buffer.from(streamed.bytes()).equals(Buffer.from(theirs))).toBe(true);
    });
  }
});
