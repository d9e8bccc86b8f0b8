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
    // Refused while data.pkl is decoded, before any storage byte is read: the offset is the REDUCE's.
    const e = await failure(openTorchArchive(memorySource(bytes, "view.pt")));
    expect(e).toMatchObject({ code: "E_OUT_OF_RANGE", path: "view.pt" });
    expect(e.offset).toBeGreaterThan(0);
    expect((await failure(loadTorch(memorySource(bytes, "view.pt")))).code).toBe("E_OUT_OF_RANGE");
  });

  it("refuses at open a stride-0 view of a few bytes that expands into terabytes", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 1, 0, [2 ** 40], [0]),
      storages: [new Uint8Array(4)],
    });
    expect((await failure(openTorchArchive(memorySource(bytes, "expand.pt")))).code).toBe("E_SHAPE");
  });

  it("rejects a storage offset past the storage even for a 0-d tensor", async () => {
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", 2, 2, [], []),
      storages: [new Uint8Array(8)],
    });
    expect((await failure(openTorchArchive(memorySource(bytes, "off.pt")))).code).toBe("E_OUT_OF_RANGE");
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

describe("torch readers bound their memory by the archive's real bytes", () => {
  it("loadTorch() refuses 8 stride-0 views of 4-byte storages (128 MiB dense) with E_UNSUPPORTED; readTensor() reads one", async () => {
    const keys = [0, 1, 2, 3, 4, 5, 6, 7];
    const views = new Map(keys.map((i) => [`e${i}`, rebuildV2("FloatStorage", `${i}`, 1, 0, [1 << 22], [0])]));
    const storages = [...views.keys()].map(() => Uint8Array.of(0, 0, 0x80, 0x3f)); // float32 1.0 each
    const bytes = await buildArchive({ pickle: views, storages });
    const e = await failure(loadTorch(memorySource(bytes, "expand.pt")));
    expect(e).toMatchObject({ code: "E_UNSUPPORTED", path: "expand.pt" });
    expect(e.message).toMatch(/openTorchArchive\(\).*readTensor\(ref, box\)/);
    const archive = await openTorchArchive(memorySource(bytes, "expand.pt"));
    const first = await archive.readTensor(refAt(archive.value, "e0"), { offsets: [(1 << 22) - 2], sizes: [2] });
    expect(Array.from(new Float32Array(first.data.slice().buffer))).toEqual([1, 1]);
  });

  it("loadTorch() copies a 16 MiB storage's whole and transposed views (twice its bytes, over the fixed allowance)", async () => {
    const n = 2048;
    const storage = new Float32Array(n * n).map((_, i) => i);
    const bytes = await buildArchive({
      pickle: new Map([
        ["w", rebuildV2("FloatStorage", "0", n * n, 0, [n, n], [n, 1])],
        ["t", rebuildV2("FloatStorage", "0", n * n, 0, [n, n], [1, n])],
      ]),
      storages: [new Uint8Array(storage.buffer)],
    });
    const value = await loadTorch(memorySource(bytes, "views.pt")) as Map<string, { data: Uint8Array }>;
    const t = new Float32Array(value.get("t")!.data.slice().buffer);
    expect([t[1], t[n], t[n * n - 1]]).toEqual([n, 1, n * n - 1]);
    expect(value.get("w")!.data.byteLength).toBe(n * n * 4);
  });

  it("readTensor() gathers rows of a transposed 16 MiB storage in reads of at most 8 MiB, each element in place", async () => {
    const n = 2048;
    const storage = new Float32Array(n * n).map((_, i) => i);
    const bytes = await buildArchive({
      pickle: rebuildV2("FloatStorage", "0", n * n, 0, [n, n], [1, n]),
      storages: [new Uint8Array(storage.buffer)],
    });
    const reads: number[] = [];
    const source = memorySource(bytes, "t.pt");
    const recording = {
      ...source,
      read: (at: number, length: number) => (reads.push(length), source.read(at, length)),
    };
    const archive = await openTorchArchive(recording);
    const box = { offsets: [5, 3], sizes: [3, n - 7] };
    const t = await archive.readTensor(refAt(archive.value), box);
    expect(Math.max(...reads)).toBeLessThanOrEqual(8 << 20);
    const got = new Float32Array(t.data.slice().buffer);
    const want = new Float32Array(box.sizes[0] * box.sizes[1]).map((_, k) => {
      const [r, c] = [box.offsets[0] + Math.floor(k / box.sizes[1]), box.offsets[1] + (k % box.sizes[1])];
      return storage[r + c * n];
    });
    expect(got).toEqual(want);
  });
});
