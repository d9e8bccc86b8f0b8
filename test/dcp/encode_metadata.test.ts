import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decodeMetadata } from "../../src/dcp/decode_metadata.ts";
import { encodeMetadata } from "../../src/dcp/encode_metadata.ts";
import type { DcpMetadata } from "../../src/dcp/metadata.ts";
import { python, tempDir } from "./helpers.ts";

describe("encodeMetadata()", () => {
  const tmp = tempDir("encode");
  let real: DcpMetadata;
  const realPath = () => join(tmp.path, "ckpt", ".metadata");
  beforeAll(async () => {
    await python(inject("python"), "save_single.py", [tmp.path]);
    real = decodeMetadata(readFileSync(realPath()), realPath());
  });
  afterAll(() => tmp.remove());

  it("round-trips through decodeMetadata()", () => {
    const bytes = encodeMetadata(real);
    expect(decodeMetadata(bytes, "ours")).toEqual(real);
    expect([...bytes.subarray(0, 3)]).toEqual([0x80, 0x04, 0x95]); // PROTO 4, FRAME
  });

  it("is read by Python's pickle as the same Metadata torch wrote, with the same globals in the same order", async () => {
    const ours = join(tmp.path, "ours.metadata");
    writeFileSync(ours, encodeMetadata({ ...real, storageMeta: { ...real.storageMeta!, checkpointId: "/x/ckpt" } }));
    const report = JSON.parse(await python(inject("python"), "compare_metadata.py", [ours, realPath()]));
    expect(report.equal).toBe(true);
    expect(report.storage_meta_type).toBe("StorageMeta");
    expect(report.checkpoint_id).toBe("/x/ckpt");
    expect(report.ours.protocol).toBe(4);
    // torch's file also names pathlib.PosixPath (its checkpoint_id); ours stores a str
    expect(report.ours.globals).toEqual(report.torch.globals.filter((g: string) => !g.startsWith("pathlib.")));
  });

  it("writes the 5-tuple TensorProperties older PyTorch reads when strides are unknown", () => {
    const legacy: DcpMetadata = {
      ...real,
      stateDictMetadata: new Map(
        [...real.stateDictMetadata].map(([k, e]) => [k, e.kind === "tensor" ? { ...e, strides: null } : e]),
      ),
    };
    expect(decodeMetadata(encodeMetadata(legacy, { protocol: 2 }), "legacy")).toEqual(legacy);
  });
});
