import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decodeMetadata } from "../../src/dcp/decode_metadata.ts";
import type { DcpMetadata, TensorEntryMeta } from "../../src/dcp/metadata.ts";
import { PickleBytes } from "../fuzz/hostile_inputs.ts";
import { python, tempDir } from "./helpers.ts";

describe("decodeMetadata() on a .metadata written by torch 2.15 dcp.save", () => {
  const tmp = tempDir("decode");
  let meta: DcpMetadata;
  beforeAll(async () => {
    await python(inject("python"), "save_single.py", [tmp.path]);
    const path = join(tmp.path, "ckpt", ".metadata");
    meta = decodeMetadata(readFileSync(path), path);
  });
  afterAll(() => tmp.remove());

  it("reads tensor entries with dtype, global size, chunks and the 2.15 strides field", () => {
    const w = meta.stateDictMetadata.get("model.w_t") as TensorEntryMeta;
    expect(w).toMatchObject({
      kind: "tensor",
      dtype: "float32",
      size: [4, 3],
      requiresGrad: false,
      memoryFormat: "contiguous",
    });
    expect(w.chunks).toEqual([{ offsets: [0, 0], sizes: [4, 3] }]);
    expect(w.strides).toEqual([1, 4]);
    const scalar = meta.stateDictMetadata.get("model.scalar") as TensorEntryMeta;
    expect(scalar.size).toEqual([]);
    expect(scalar.chunks).toEqual([{ offsets: [], sizes: [] }]);
    expect((meta.stateDictMetadata.get("dtypes.float8_e8m0fnu") as TensorEntryMeta).dtype).toBe("float8_e8m0fnu");
  });

  it("reads BYTE_IO entries, planner_data paths with int list indices, and drops empty mappings", () => {
    expect(meta.stateDictMetadata.get("train_state.blob")).toEqual({ kind: "bytes" });
    expect(meta.plannerData?.get("optimizer.param_groups.0.lr")).toEqual(["optimizer", "param_groups", 0, "lr"]);
    expect(meta.plannerData?.get("tup")).toEqual(["tup"]);
    expect([...meta.stateDictMetadata.keys()].some((k) => k.startsWith("lr_scheduler.lr_lambdas"))).toBe(false);
  });

  it("keys storage_data by (fqn, offsets) with BYTE_IO items that have no offset", () => {
    const items = [...meta.storageData.values()];
    const blob = items.find((s) => s.fqn === "train_state.blob")!;
    expect(blob).toMatchObject({ offsets: null, index: null, info: { relativePath: "__0_0.distcp" } });
    const w = items.find((s) => s.fqn === "model.w_t")!;
    expect(w).toMatchObject({ offsets: [0, 0], index: 0 });
    expect(w.info.length).toBeGreaterThan(0);
    expect(meta.storageMeta?.checkpointId).toBe(join(tmp.path, "ckpt"));
    expect(meta.storageMeta?.saveId).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.version).toBe("1.0.0");
  });
});

describe("decodeMetadata() accepts every variant PyTorch and CPython have produced", () => {
  const tmp = tempDir("variants");
  const read = (name: string) => {
    const path = join(tmp.path, name);
    return decodeMetadata(readFileSync(path), path);
  };
  let newest: DcpMetadata;
  beforeAll(async () => {
    await python(inject("python"), "save_single.py", [tmp.path]);
    await python(inject("python"), "metadata_variants.py", [join(tmp.path, "ckpt", ".metadata"), tmp.path]);
    newest = decodeMetadata(readFileSync(join(tmp.path, "ckpt", ".metadata")), ".metadata");
  });
  afterAll(() => tmp.remove());

  it("reads a protocol-2 pickle and the builtins.getattr enum name form to the same model", () => {
    expect(read("proto2.metadata")).toEqual(newest);
    expect(read("name_enum.metadata")).toEqual(newest);
  });

  it("joins a pathlib._local.PosixPath checkpoint_id", () => {
    expect(read("pathlib_local.metadata").storageMeta?.checkpointId).toBe(newest.storageMeta?.checkpointId);
  });

  it("reads 1.13-era module paths, MEM_FORMAT_ENCODING, a 5-tuple TensorProperties and missing fields", () => {
    const old = read("old_paths.metadata");
    expect(old.plannerData).toBeNull();
    expect(old.storageMeta).toBeNull();
    expect(old.version).toBeNull();
    const w = old.stateDictMetadata.get("model.w_t") as TensorEntryMeta;
    expect(w.strides).toBeNull();
    expect(w.chunks).toEqual((newest.stateDictMetadata.get("model.w_t") as TensorEntryMeta).chunks);
    expect(old.storageData).toEqual(newest.storageData);
  });

  it("keeps transform_descriptors for the reader to refuse", () => {
    const t = read("transforms.metadata");
    expect([...t.storageData.values()].some((s) => s.info.transformDescriptors?.[0] === "stream.zstd/1")).toBe(true);
  });
});

describe("decodeMetadata() rejects hostile or malformed input", () => {
  it("rejects an os.system global with E_PICKLE_GLOBAL", () => {
    // PROTO 2, GLOBAL 'os system', SHORT_BINSTRING... REDUCE: the classic pickle exploit shape
    const bytes = Uint8Array.from([
      0x80,
      0x02,
      0x63,
      ...new TextEncoder().encode("os\nsystem\n"),
      0x58,
      0x02,
      0,
      0,
      0,
      0x69,
      0x64,
      0x85,
      0x52,
      0x2e,
    ]);
    expect(() => decodeMetadata(bytes, "ckpt/.metadata")).toThrowError(
      expect.objectContaining({ code: "E_PICKLE_GLOBAL", path: "ckpt/.metadata", offset: 2 }),
    );
  });

  it("rejects a pickle that is not a Metadata object with E_METADATA", () => {
    // PROTO 2, EMPTY_DICT, STOP
    expect(() => decodeMetadata(Uint8Array.of(0x80, 0x02, 0x7d, 0x2e), "m")).toThrowError(
      expect.objectContaining({ code: "E_METADATA", path: "m" }),
    );
  });

  const global = (module: string, name: string) => [0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)];
  const DCP = "torch.distributed.checkpoint.metadata";
  // GLOBAL Metadata, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, "state_dict_metadata": value, SETITEM, BUILD
  const metadataOf = (value: (p: PickleBytes) => PickleBytes) =>
    value(new PickleBytes().op(...global(DCP, "Metadata"), 0x29, 0x81, 0x7d).str("state_dict_metadata"))
      .op(0x73, 0x62).done();

  it("rejects a list inside itself and 100k nested lists where state_dict_metadata must be a dict", () => {
    // EMPTY_LIST, PUT 0, GET 0, APPEND: a list inside itself
    const cycle = metadataOf((p) => p.op(0x5d).put(0).get(0).op(0x61));
    expect(() => decodeMetadata(cycle, "c/.metadata")).toThrowError(
      expect.objectContaining({ code: "E_METADATA", path: "c/.metadata", message: expect.stringContaining("dict") }),
    );
    const deep = metadataOf((p) => {
      for (let i = 0; i < 100_000; i++) p.op(0x5d);
      for (let i = 1; i < 100_000; i++) p.op(0x61);
      return p;
    });
    expect(() => decodeMetadata(deep, "d/.metadata")).toThrowError(
      expect.objectContaining({ code: "E_METADATA", path: "d/.metadata", message: expect.stringContaining("dict") }),
    );
  });

  it("rejects one chunk list shared by 2000 entries once the walk passes the node budget", () => {
    // TensorProperties(float32, strided, False, contiguous, False), as torch pickles it (BUILD with a tuple)
    const props = (p: PickleBytes) =>
      p.op(...global(DCP, "TensorProperties"), 0x29, 0x81, 0x28, ...global("torch", "float32"))
        .op(...global("torch.serialization", "_get_layout")).str("torch.strided").op(0x85, 0x52, 0x89)
        .op(...global(DCP, "_MEM_FORMAT_ENCODING"), 0x4b, 0, 0x85, 0x52, 0x89, 0x74, 0x62);
    // ChunkStorageMetadata(offsets=[], sizes=[]) in memo 1; the list of 2000 references to it, then an entry
    // TensorStorageMetadata(properties, size=[], chunks=that list) in memo 0, met by 2000 keys: 44 KB that a
    // tree walk expands to 12 million nodes.
    const shared = metadataOf((p) => {
      p.op(0x7d).str("e0").op(...global(DCP, "TensorStorageMetadata"), 0x29, 0x81, 0x7d).str("properties");
      props(p).op(0x73).str("size").op(0x5d, 0x73).str("chunks").op(0x5d);
      p.op(...global(DCP, "ChunkStorageMetadata"), 0x29, 0x81, 0x7d).str("offsets").op(0x5d, 0x73).str("sizes")
        .op(0x5d, 0x73, 0x62).put(1).op(0x61);
      for (let i = 1; i < 2000; i++) p.get(1).op(0x61);
      p.op(0x73, 0x62).put(0).op(0x73);
      for (let i = 1; i < 2000; i++) p.str(`e${i}`).get(0).op(0x73);
      return p;
    });
    expect(() => decodeMetadata(shared, "s/.metadata")).toThrowError(
      expect.objectContaining({
        code: "E_METADATA",
        path: "s/.metadata",
        message: expect.stringContaining("too many"),
      }),
    );
  });

  it("reads a record field named __proto__ as an ordinary key, so no field comes through a prototype", () => {
    const META = new TextEncoder().encode("torch.distributed.checkpoint.metadata\nMetadata\n");
    // Metadata(__proto__=Metadata(state_dict_metadata={}, storage_data={})): torch sees no state_dict_metadata
    const p = new PickleBytes().op(0x63, ...META, 0x29, 0x81, 0x7d).str("__proto__")
      .op(0x63, ...META, 0x29, 0x81, 0x7d).str("state_dict_metadata").op(0x7d, 0x73).str("storage_data")
      .op(0x7d, 0x73, 0x62)
      .op(0x73, 0x62).done();
    expect(() => decodeMetadata(p, "p/.metadata")).toThrowError(
      expect.objectContaining({ code: "E_METADATA", path: "p/.metadata" }),
    );
  });

  it("rejects a truncated pickle with a typed error naming the file", () => {
    const bytes = readFileSync(join("test", "dcp", "data", "tiny", ".metadata")).subarray(0, 40);
    expect(() => decodeMetadata(bytes, "t")).toThrowError(expect.objectContaining({ path: "t" }));
  });
});
