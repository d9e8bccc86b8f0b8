import { describe, expect, it } from "vitest";
import { WebdcpError } from "../../src/errors/mod.ts";
import { PyGlobal, PyReduce, tuple } from "../../src/pickle/mod.ts";
import { memorySource } from "../../src/storage/mod.ts";
import { encodeTorch, loadTorch, openTorchArchive } from "../../src/torch/mod.ts";
import { buildArchive, rebuildV2 } from "./build_archive.ts";
import { refAt } from "./refs.ts";

const sample = () =>
  encodeTorch(new Map([["w", { dtype: "float32" as const, shape: [2, 3], data: new Uint8Array(24).fill(0x3f) }]]));

async function failure(promise: Promise<unknown>): Promise<WebdcpError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(WebdcpError);
    return e as WebdcpError;
  }
  throw new Error("expected a rejection");
}

describe("openTorchArchive() on hostile archives", () => {
  it("rejects every truncation with a typed error naming the file", async () => {
    const bytes = sample();
    for (let keep = 0; keep < bytes.length; keep += 53) {
      const e = await failure(openTorchArchive(memorySource(bytes.subarray(0, keep), "cut.pt")));
      expect(["E_TRUNCATED", "E_BAD_MAGIC", "E_OUT_OF_RANGE", "E_ZIP"]).toContain(e.code);
      expect(e.path).toBe("cut.pt");
    }
  });

  it("rejects a legacy (pre-zip) pickle .pt shorter than an end record with E_TRUNCATED and junk with E_BAD_MAGIC", async () => {
    const legacy = Uint8Array.of(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
    expect((await failure(openTorchArchive(memorySource(legacy, "old.pt")))).code).toBe("E_TRUNCATED");
    const junk = new Uint8Array(4096).fill(0x2e);
    expect((await failure(openTorchArchive(memorySource(junk, "junk.pt")))).code).toBe("E_BAD_MAGIC");
  });

  it("refuses a data.pkl that names os.system, before running anything", async () => {
    const bytes = await buildArchive({ pickle: new PyReduce(new PyGlobal("os", "system"), tuple("echo pwned")) });
    const e = await failure(openTorchArchive(memorySource(bytes, "evil.pt")));
    expect(e.code).toBe("E_PICKLE_GLOBAL");
    expect(e.message).toContain("os.system");
    expect(e.offset).toBeGreaterThanOrEqual(64); // inside data.pkl, whose data starts at 64
  });

  it("flags a record whose bytes do not match its CRC in verify() with E_BAD_CRC", async () => {
    const bytes = sample();
    const archive = await openTorchArchive(memorySource(bytes, "ok.pt"));
    await archive.verify();
    const record = archive.records.get("archive/data/0")!;
    bytes[record.dataOffset + 5] ^= 1;
    const damaged = await openTorchArchive(memorySource(bytes, "bad.pt"));
    const e = await failure(damaged.verify());
    expect(e.code).toBe("E_BAD_CRC");
    expect(e.message).toContain("archive/data/0");
    expect(e.offset).toBe(record.dataOffset);
  });

  it("rejects a view whose strides reach past its storage with E_OUT_OF_RANGE", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 4, 0, [2, 3], [3, 1]),
      storages: [new Uint8Array(16)],
    });
    const archive = await openTorchArchive(memorySource(bytes, "view.pt"));
    const e = await failure(archive.readTensor(refAt(archive.value)));
    expect(e.code).toBe("E_OUT_OF_RANGE");
    expect(e.offset).toBe(archive.records.get("archive/data/0")!.dataOffset);
    expect((await failure(loadTorch(memorySource(bytes, "view.pt")))).code).toBe("E_OUT_OF_RANGE");
  });

  it("refuses to expand a stride-0 view of a few bytes into terabytes", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 1, 0, [2 ** 40], [0]),
      storages: [new Uint8Array(4)],
    });
    const archive = await openTorchArchive(memorySource(bytes, "expand.pt"));
    expect((await failure(archive.readTensor(refAt(archive.value)))).code).toBe("E_SHAPE");
  });

  it("rejects a storage offset past the storage even for a 0-d tensor", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 2, 2, [], []),
      storages: [new Uint8Array(8)],
    });
    const archive = await openTorchArchive(memorySource(bytes, "off.pt"));
    expect((await failure(archive.readTensor(refAt(archive.value)))).code).toBe("E_OUT_OF_RANGE");
  });

  it("rejects a storage that claims more elements than its record holds", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 1000, 0, [1000], [1]),
      storages: [new Uint8Array(16)],
    });
    const e = await failure(openTorchArchive(memorySource(bytes, "short.pt")));
    expect(e.code).toBe("E_TORCH_ARCHIVE");
    expect(e.offset).toBeGreaterThanOrEqual(64);
  });

  it("rejects a storage key without a record", async () => {
    const bytes = await buildArchive({ pickle: rebuildV2("FloatStorage", "7", 1, 0, [1], [1]) });
    expect((await failure(openTorchArchive(memorySource(bytes, "k.pt")))).code).toBe("E_TORCH_ARCHIVE");
  });

  it("rejects an archive without a version record, and versions outside 1..10", async () => {
    const none = await buildArchive({ pickle: 1, version: "" });
    expect((await failure(openTorchArchive(memorySource(none, "v.pt")))).code).toBe("E_TORCH_ARCHIVE");
    const future = await buildArchive({ pickle: 1, version: "11\n" });
    expect((await failure(openTorchArchive(memorySource(future, "v.pt")))).code).toBe("E_UNSUPPORTED");
    const text = await buildArchive({ pickle: 1, version: "three" });
    expect((await failure(openTorchArchive(memorySource(text, "v.pt")))).code).toBe("E_UNSUPPORTED");
  });

  it("rejects a byteorder record other than little or big", async () => {
    const bytes = await buildArchive({ pickle: 1, byteorder: "middle" });
    expect((await failure(openTorchArchive(memorySource(bytes, "b.pt")))).code).toBe("E_TORCH_ARCHIVE");
  });

  it("rejects an archive whose first record is not inside a folder", async () => {
    const bytes = await buildArchive({ pickle: 1, name: "" });
    // name "" gives "/data.pkl": an empty archive folder
    expect((await failure(openTorchArchive(memorySource(bytes, "n.pt")))).code).toBe("E_TORCH_ARCHIVE");
  });

  it("rejects a persistent id that is not a storage tuple", async () => {
    // PROTO 2, BINUNICODE "abc", BINPERSID, STOP
    const pkl = Uint8Array.of(0x80, 0x02, 0x58, 3, 0, 0, 0, 0x61, 0x62, 0x63, 0x51, 0x2e);
    const bytes = await buildArchive({ pickle: pkl });
    expect((await failure(openTorchArchive(memorySource(bytes, "pid.pt")))).code).toBe("E_TORCH_ARCHIVE");
  });

  it("rejects a box that does not fit the tensor with E_USAGE", async () => {
    const archive = await openTorchArchive(memorySource(sample(), "ok.pt"));
    const ref = refAt(archive.value, "w");
    const e = await failure(archive.readTensor(ref, { offsets: [1, 2], sizes: [1, 2] }));
    expect(e.code).toBe("E_USAGE");
  });
});
