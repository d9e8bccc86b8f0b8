import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTensorSource } from "../../src/source/mod.ts";
import { openDcp, saveStateDict } from "../../src/dcp/mod.ts";
import { openSafetensorsFolder, writeSafetensorsFolder } from "../../src/safetensors/mod.ts";
import { HttpStorage, MemoryStorage } from "../../src/storage/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { filesOf, type RangeServer, startRangeServer } from "./range_server.ts";
import { expectCode } from "./storage_spec.ts";

function tensor(dtype: Tensor["dtype"], shape: number[], itemsize: number, seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, itemsize);
  return { dtype, shape, data: Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff) };
}

const weights = {
  "embed.weight": tensor("float32", [6, 4], 4, 1),
  "layers.0.w": tensor("bfloat16", [5, 3], 2, 2),
  "layers.0.b": tensor("float16", [3], 2, 3),
  "ids": tensor("int64", [2, 2], 8, 4),
};
const entries = Object.entries(weights).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
const stateDict = {
  model: { w: tensor("float32", [7, 3], 4, 5), emb: tensor("bfloat16", [4, 6], 2, 6) },
  optimizer: { step: tensor("float32", [], 4, 7) },
  train_state: { step: 12, name: "remote" },
};

describe("HttpStorage against a real HTTP server honouring Range", () => {
  const files = new MemoryStorage();
  let server: RangeServer;
  let http: HttpStorage;

  beforeAll(async () => {
    await writeSafetensorsFolder(files, "hf", entries, { maxShardBytes: 120 }); // several shards + index
    await writeSafetensorsFolder(files, "single", entries);
    await saveStateDict(files, "ckpt", stateDict, { ranks: 2 });
    await files.writeAll("dir with space/ü.bin", Uint8Array.of(1, 2, 3));
    await files.writeAll("empty.bin", new Uint8Array(0));
    server = await startRangeServer(filesOf(files));
    http = new HttpStorage(`${server.url}`);
  });
  afterAll(() => server?.close());

  it("stat() reports a file's size from HEAD and undefined for missing files and the root", async () => {
    const size = (await files.stat("single/model.safetensors"))!.size;
    expect(await http.stat("single/model.safetensors")).toEqual({ size });
    expect(await http.stat("single/./model.safetensors")).toEqual({ size });
    expect(await http.stat("nope.bin")).toBeUndefined();
    expect(await http.stat("")).toBeUndefined();
    expect(await http.stat("empty.bin")).toEqual({ size: 0 });
  });

  it("open() reads exact ranges with one `Range: bytes=a-b` GET each, in any order", async () => {
    const expected = await files.readAll("ckpt/__1_0.distcp");
    const src = await http.open("ckpt/__1_0.distcp");
    expect(src.size).toBe(expected.byteLength);
    expect(src.path).toBe("ckpt/__1_0.distcp");
    const before = server.requests.length;
    const [tail, head] = await Promise.all([src.read(expected.byteLength - 5, 5), src.read(0, 7)]);
    expect(tail).toEqual(expected.subarray(-5));
    expect(head).toEqual(expected.subarray(0, 7));
    const ranges = server.requests.slice(before).map((r) => `${r.method} ${r.range}`).sort();
    expect(ranges).toEqual([`GET bytes=0-6`, `GET bytes=${expected.byteLength - 5}-${expected.byteLength - 1}`]);
    expect(await src.read(3, 0)).toEqual(new Uint8Array(0));
    await src.close();
    await expectCode(src.read(0, 1), "E_USAGE");
  });

  it("readInto() lands a range inside a larger buffer", async () => {
    const expected = await files.readAll("single/model.safetensors");
    const src = await http.open("single/model.safetensors");
    const backing = new Uint8Array(12);
    await src.readInto!(20, backing.subarray(2, 10));
    expect(backing.subarray(2, 10)).toEqual(expected.subarray(20, 28));
    expect([...backing.subarray(0, 2), ...backing.subarray(10)]).toEqual([0, 0, 0, 0]);
    await src.close();
  });

  it("readAll() and read() percent-encode each path segment", async () => {
    expect([...await http.readAll("dir with space/ü.bin")]).toEqual([1, 2, 3]);
    expect([...await http.read("dir with space/ü.bin", 1, 2)]).toEqual([2, 3]);
    expect(http.urlOf("dir with space/ü.bin")).toBe(`${server.url}dir%20with%20space/%C3%BC.bin`);
  });

  it("openSafetensorsFolder() reads a sharded HF folder through model.safetensors.index.json", async () => {
    const folder = await openSafetensorsFolder(http, "hf");
    expect(folder.files.length).toBeGreaterThan(1);
    for (const [name, t] of Object.entries(weights)) {
      const got = await folder.readTensor(name);
      expect({ dtype: got.dtype, shape: got.shape, data: got.data }).toEqual(t);
    }
    await folder.close();
  });

  it("openSafetensorsFolder() finds an unsharded HF folder's model.safetensors without listing", async () => {
    const folder = await openSafetensorsFolder(http, "single");
    expect(folder.files).toEqual(["single/model.safetensors"]);
    for (const [name, t] of Object.entries(weights)) {
      const got = await folder.readTensor(name);
      expect({ dtype: got.dtype, shape: got.shape, data: got.data }).toEqual(t);
    }
    await folder.close();
  });

  it("openTensorSource() detects remote DCP, sharded HF and single-file HF folders without listing", async () => {
    for (const [dir, format] of [["ckpt", "dcp"], ["hf", "hf"], ["single", "hf"]] as const) {
      const source = await openTensorSource(http, dir);
      expect(source.format).toBe(format);
      await source.close();
    }
    await expect(openTensorSource(http, "nowhere")).rejects.toMatchObject({ code: "E_NOT_FOUND" });
  });

  it("openTensorSource() opens a remote .safetensors file and reads boxes of its tensors", async () => {
    const source = await openTensorSource(http, "single/model.safetensors");
    expect(source.format).toBe("safetensors");
    expect(source.entries.map((e) => e.name).sort()).toEqual(Object.keys(weights).sort());
    const rows = await source.readTensor("embed.weight", { offsets: [2, 0], sizes: [3, 4] });
    expect(rows.data).toEqual(weights["embed.weight"].data.subarray(2 * 16, 5 * 16));
    await source.close();
  });

  it("openDcp() reads a 2-rank checkpoint written by saveStateDict bit-exactly through its .metadata", async () => {
    const local = await openDcp(files, "ckpt");
    const remote = await openDcp(http, "ckpt");
    expect(remote.entries()).toEqual(local.entries());
    expect(await remote.readStateDict()).toEqual(await local.readStateDict());
    const box = { offsets: [3, 1], sizes: [4, 2] }; // spans both ranks' shards of model.w
    expect(await remote.readTensor("model.w", box)).toEqual(await local.readTensor("model.w", box));
    expect(await remote.files()).toEqual(await local.files());
    await remote.close();
    await local.close();
  });

  it("list() answers undefined (HTTP has no listing) and every write fails with E_UNSUPPORTED", async () => {
    expect(await http.list("ckpt")).toBeUndefined();
    expect(await http.list("")).toBeUndefined();
    const where = { path: `${server.url}ckpt/.metadata` };
    await expectCode(http.create("ckpt/.metadata"), "E_UNSUPPORTED", where);
    await expectCode(http.writeAll("ckpt/.metadata", Uint8Array.of(1)), "E_UNSUPPORTED", where);
    await expectCode(http.rename("ckpt/.metadata", "x"), "E_UNSUPPORTED", where);
    await expectCode(http.remove("ckpt/.metadata"), "E_UNSUPPORTED", where);
    expect(await http.stat("ckpt/.metadata")).toBeDefined();
  });

  it("every operation rejects a path leaving the base URL with E_PATH_ESCAPE before any request", async () => {
    const before = server.requests.length;
    for (const p of ["../x", "/etc/passwd", "a\\b"]) {
      await expectCode(http.stat(p), "E_PATH_ESCAPE");
      await expectCode(http.open(p), "E_PATH_ESCAPE");
      await expectCode(http.list(p), "E_PATH_ESCAPE");
      await expectCode(http.create(p), "E_PATH_ESCAPE");
    }
    expect(server.requests.length).toBe(before);
  });

  it("uses the injected fetch and sends the given headers with every request", async () => {
    const seen: string[] = [];
    const storage = new HttpStorage(new URL("ckpt", server.url), {
      headers: { authorization: "Bearer t0k" },
      fetch: (input, init) => {
        seen.push(`${init?.method} ${new Headers(init?.headers).get("authorization")}`);
        return fetch(input, init);
      },
    });
    expect(storage.baseUrl).toBe(`${server.url}ckpt/`);
    expect(await storage.read(".metadata", 0, 2)).toEqual(await files.read("ckpt/.metadata", 0, 2));
    expect(seen).toEqual(["HEAD Bearer t0k", "GET Bearer t0k"]);
  });

  it("the constructor refuses non-HTTP URLs and base URLs with a query", () => {
    expect(() => new HttpStorage("file:///tmp/x")).toThrowError(/E_USAGE/);
    expect(() => new HttpStorage(`${server.url}?sig=1`)).toThrowError(/E_USAGE/);
    expect(() => new HttpStorage("not a url")).toThrowError(/E_USAGE/);
  });
});
