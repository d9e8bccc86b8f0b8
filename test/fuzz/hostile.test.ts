/**
 * Hostile input, round two (issue 11): each class of input that used to crash, hang or blow up a reader is
 * run through the real readers under the fuzz guard (time and ArrayBuffer growth per case), and must end
 * in a typed error naming the file (or, for honest giants, succeed).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliIn } from "../cli/in_process.ts";
import { convert, finalize, reshard, verify } from "../../src/jobs/mod.ts";
import { dimSplitLayout } from "../../src/dcp/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import { decodeMetadata, encodeMetadata, openDcp, saveStateDict } from "../../src/dcp/mod.ts";
import { LimitError } from "../../src/limits/mod.ts";
import { checkValueGraph } from "../../src/pickle/graph.ts";
import {
  decodePickle,
  encodePickle,
  pyEqual,
  PyGlobal,
  PyPersistent,
  PyReduce,
  pyRepr,
  PyTuple,
  tuple,
} from "../../src/pickle/mod.ts";
import { readSafetensorsHeader } from "../../src/safetensors/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import { DEFAULT_LIMITS } from "../../src/limits/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { buildArchive } from "../torch/build_archive.ts";
import { guarded } from "./guard.ts";
import {
  cyclicPickle,
  dagPickle,
  deepDictPickle,
  deepListPickle,
  expandedViewPickle,
  HOSTILE_NAMES,
  manyTensorSafetensors,
  safetensorsOf,
} from "./hostile_inputs.ts";
import { seed } from "./seeds.ts";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-hostile-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Opens `bytes` as `name` through the one read model, under the guard; returns the typed error. */
async function refusal(name: string, bytes: Uint8Array, budgetMs?: number) {
  const storage = new MemoryStorage();
  await storage.writeAll(name, bytes);
  const outcome = await guarded(bytes.byteLength, async () => {
    const s = await openTensorSource(storage, name);
    await s.close();
  }, budgetMs);
  if (outcome.ok) throw new Error(`${name} was accepted`);
  return outcome.error;
}

const pt = (pickle: Uint8Array) => buildArchive({ pickle });

describe("pickle values are graphs: shared and cyclic structure", () => {
  it("decodePickle() decodes a 30-level DAG (2^30 leaves as a tree) in a few hundred bytes", () => {
    const bytes = dagPickle(30);
    expect(bytes.byteLength).toBeLessThan(1000);
    const facts = checkValueGraph(decodePickle(bytes), DEFAULT_LIMITS, { path: "dag.pkl" });
    expect(facts.objects).toBe(31);
    expect(facts.depth).toBe(31);
    expect(facts.treeNodes).toBe(DEFAULT_LIMITS.maxValues + 1); // capped: the tree is 2^31 nodes
  });

  it("checkValueGraph() refuses a DAG walked as a tree with E_LIMIT maxValues, naming the file", () => {
    const e = (() => {
      try {
        checkValueGraph(decodePickle(dagPickle(30)), DEFAULT_LIMITS, { path: "dag.pkl", offset: 0 }, { tree: true });
      } catch (e) {
        return e;
      }
    })();
    expect(e).toBeInstanceOf(LimitError);
    expect(e).toMatchObject({ code: "E_LIMIT", limit: "maxValues", path: "dag.pkl", offset: 0 });
  });

  it("a torch.save file whose data.pkl is a 30-level DAG is refused with E_LIMIT (no 2^30 flattening)", async () => {
    const e = await refusal("dag.pt", await pt(dagPickle(30)));
    expect(e).toMatchObject({ code: "E_LIMIT", path: "dag.pt" });
  });

  it("a torch.save file whose data.pkl holds itself is refused with E_LIMIT (cycle)", async () => {
    const e = await refusal("cycle.pt", await pt(cyclicPickle()));
    expect(e).toMatchObject({ code: "E_LIMIT", path: "cycle.pt" });
    expect(e.message).toContain("cycle");
  });

  it("pyRepr() of a DAG, a cycle and 100k-deep nesting returns bounded text", () => {
    for (const bytes of [dagPickle(30), cyclicPickle(), deepDictPickle(100_000), deepListPickle(100_000)]) {
      const text = pyRepr(decodePickle(bytes));
      expect(text.length).toBeLessThan(1 << 20);
    }
    expect(pyRepr(decodePickle(cyclicPickle()))).toBe("{'self': {...}, 'loop': [[...]]}");
  });

  it("pyEqual() compares two 100k-deep values and two 30-level DAGs (no stack overflow, no 2^30 walk)", async () => {
    const [deep1, deep2] = [decodePickle(deepDictPickle(100_000)), decodePickle(deepDictPickle(100_000))];
    const [dag1, dag2] = [decodePickle(dagPickle(30)), decodePickle(dagPickle(30))];
    const out = await guarded(0, () => [pyEqual(deep1, deep2), pyEqual(dag1, dag2), pyEqual(deep1, dag1)]);
    expect(out).toEqual({ ok: true, value: [true, true, false] });
  });

  it("encodePickle() re-encodes a decoded DAG and cycle by memo (bytes stay small)", () => {
    expect(encodePickle(decodePickle(dagPickle(30)), { protocol: 2 }).byteLength).toBeLessThan(2000);
    expect(encodePickle(decodePickle(cyclicPickle()), { protocol: 2 }).byteLength).toBeLessThan(200);
  });

  it("encodePickle() refuses a value nested 100k deep with E_LIMIT maxDepth (measured, not by stack overflow)", () => {
    const deep = decodePickle(deepDictPickle(100_000));
    expect(() => encodePickle(deep, { protocol: 2 })).toThrow(
      expect.objectContaining({ code: "E_LIMIT", limit: "maxDepth" }),
    );
  });

  it("encodePickle() with maxDepth raised writes a value nested 100k deep with its own stack, and it decodes equal", async () => {
    const deep = decodePickle(deepDictPickle(100_000));
    const out = await guarded(0, () => encodePickle(deep, { protocol: 4, limits: { maxDepth: 200_000 } }), 10_000);
    if (!out.ok) throw out.error;
    expect(pyEqual(decodePickle(out.value), deep)).toBe(true);
  });
});

describe("deep nesting after the decoder coped", () => {
  it("a torch.save file with 100k nested dicts in data.pkl is refused with E_LIMIT maxDepth", async () => {
    const e = await refusal("deep.pt", await pt(deepDictPickle(100_000)));
    expect(e).toMatchObject({ code: "E_LIMIT", limit: "maxDepth", path: "deep.pt" });
  });

  it("a torch.save file with 100k nested lists in data.pkl is refused with E_LIMIT maxDepth", async () => {
    const e = await refusal("deep.pt", await pt(deepListPickle(100_000)));
    expect(e).toMatchObject({ code: "E_LIMIT", limit: "maxDepth", path: "deep.pt" });
  });

  it("a BYTE_IO value is read under the caller's limits: 600 levels pass the defaults, not maxDepth=100", async () => {
    const storage = new MemoryStorage();
    let deep: unknown = 1;
    for (let i = 0; i < 600; i++) deep = [deep];
    await saveStateDict(storage, "v", { w: makeTensor("float32", [1], new Uint8Array(4)), deep: deep as never }, {
      ranks: 1,
    });
    const fqn = "deep";
    expect(await (await openDcp(storage, "v")).readValue(fqn)).toEqual(deep);
    const strict = await openDcp(storage, "v", { limits: { maxDepth: 100 } });
    const outcome = await guarded(0, () => strict.readValue(fqn));
    expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_LIMIT", limit: "maxDepth", path: "v/__0_0.distcp" });
  });

  it("a .metadata whose planner_data path is 100k long is refused with E_LIMIT naming .metadata", async () => {
    const meta = decodeMetadata(seed("dcp/.metadata").bytes, ".metadata");
    const fqn = [...meta.stateDictMetadata.keys()][0];
    const plannerData = new Map(meta.plannerData ?? []);
    plannerData.set(fqn, Array.from({ length: 100_000 }, (_, i) => `k${i}`));
    const bytes = encodeMetadata({ ...meta, plannerData });
    const storage = new MemoryStorage();
    await storage.writeAll("ck/.metadata", bytes);
    // A 100k-element path is a lot of honest decoding work on a loaded machine: a roomier hang budget.
    const outcome = await guarded(bytes.byteLength, () => openTensorSource(storage, "ck"), 10_000);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_LIMIT", limit: "maxDepth", path: "ck/.metadata" });
  });
});

describe("huge metadata and headers are refused by size before they are read", () => {
  it("a 600 MiB sparse .metadata is refused with E_LIMIT maxMetadataBytes without reading it", async () => {
    fs.mkdirSync(nodePath.join(dir, "sparse"));
    fs.writeFileSync(nodePath.join(dir, "sparse/.metadata"), "");
    fs.truncateSync(nodePath.join(dir, "sparse/.metadata"), 600 << 20);
    const storage = new FileStorage(dir);
    const outcome = await guarded(0, () => openTensorSource(storage, "sparse"));
    const where = { code: "E_LIMIT", limit: "maxMetadataBytes", path: "sparse/.metadata", offset: 0 };
    expect(!outcome.ok && outcome.error).toMatchObject(where);
    const report = await guarded(0, () => verify({ storage, path: "sparse" }));
    expect(report.ok && report.value.problems).toMatchObject([{
      code: "E_LIMIT",
      path: "sparse/.metadata",
      offset: 0,
    }]);
  });

  it("a safetensors header with a million tensors is refused with E_LIMIT maxTensors before JSON parsing", async () => {
    const bytes = manyTensorSafetensors(1 << 20);
    const e = await refusal("million.safetensors", bytes, 10_000);
    expect(e).toMatchObject({ code: "E_LIMIT", limit: "maxTensors", path: "million.safetensors", offset: 8 });
  });

  it("a tensor name longer than maxNameLength is refused with E_LIMIT at the name's offset", async () => {
    const e = await refusal("long.safetensors", manyTensorSafetensors(1, () => "n".repeat(20_000)));
    expect(e).toMatchObject({ code: "E_LIMIT", limit: "maxNameLength", path: "long.safetensors", offset: 9 });
  });

  it("inspect of an honest safetensors file with 130k tensors prints every tensor (no spread onto the stack)", async () => {
    fs.writeFileSync(nodePath.join(dir, "wide.safetensors"), manyTensorSafetensors(130_000));
    const { code, out } = await runCliIn(dir, ["inspect", "wide.safetensors"]);
    expect(code).toBe(0);
    expect(out).toContain("total: 130000 tensors");
  });

  it("a 646-byte-class .pt whose strides describe 4 TiB is refused at open with E_SHAPE (and by verify)", async () => {
    const bytes = await buildArchive({ pickle: expandedViewPickle([1 << 20, 1 << 20]), storages: [new Uint8Array(4)] });
    expect(bytes.byteLength).toBeLessThan(1024);
    const e = await refusal("huge.pt", bytes);
    expect(e).toMatchObject({ code: "E_SHAPE", path: "huge.pt" });
    expect(e.offset).toBeGreaterThan(0);
    const storage = new MemoryStorage();
    await storage.writeAll("huge.pt", bytes);
    const report = await verify({ storage, path: "huge.pt" });
    expect(report.problems.map((p) => p.code)).toEqual(["E_SHAPE"]);
  });
});

describe("names: prototype keys are ordinary keys, path errors name the file that holds the path", () => {
  const index = (weightMap: Record<string, string>) =>
    new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap }));

  it("an HF folder whose weight_map has __proto__, constructor and toString keys opens with all three", async () => {
    const names = ["__proto__", "constructor", "toString"];
    const storage = new MemoryStorage();
    await storage.writeAll("hf/model-1.safetensors", manyTensorSafetensors(3, (i) => names[i]));
    // JSON text written by hand: an object literal would turn "__proto__" into a prototype, not a key.
    const text = `{"metadata":{},"weight_map":{${names.map((n) => `"${n}":"model-1.safetensors"`).join(",")}}}`;
    await storage.writeAll("hf/model.safetensors.index.json", new TextEncoder().encode(text));
    const source = await openTensorSource(storage, "hf");
    expect(source.entries.map((e) => e.name).sort()).toEqual([...names].sort());
    await source.close();
  });

  it("convert --part then finalize keeps __proto__, constructor and toString in the merged index", async () => {
    const names = ["__proto__", "constructor", "toString"];
    const storage = new MemoryStorage();
    await storage.writeAll("in.safetensors", manyTensorSafetensors(3, (i) => names[i]));
    for (const index of [0, 1]) {
      await convert({ storage, path: "in.safetensors" }, { storage, path: "out" }, {
        to: "safetensors",
        maxShardSize: 1,
        part: { index, count: 2 },
      });
    }
    await finalize({ storage, path: "out" });
    const source = await openTensorSource(storage, "out");
    expect(source.entries.map((e) => e.name).sort()).toEqual([...names].sort());
    await source.close();
  });

  it("finalize refuses a part's file list naming a file outside the folder with E_PATH_ESCAPE naming the list", async () => {
    const storage = new MemoryStorage();
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const doc = { shards: 1, files: ["model.safetensors"], total_size: 0, weight_map: {} };
    await storage.writeAll("out/.webdcp-part-0-of-1.json", json(doc));
    const list = "out/.webdcp-part-0-of-1.files.json";
    await storage.writeAll(list, json({ files: [{ file: "../../etc/passwd", size: 1, crc32: 0 }] }));
    const outcome = await guarded(0, () => finalize({ storage, path: "out" }));
    expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_PATH_ESCAPE", path: list });
  });

  for (const bad of ["../outside.safetensors", "/etc/passwd"]) {
    it(`an index mapping a tensor to '${bad}' is refused with E_PATH_ESCAPE naming the index`, async () => {
      const storage = new MemoryStorage();
      await storage.writeAll("hf/model.safetensors.index.json", index({ w: bad }));
      const outcome = await guarded(0, () => openTensorSource(storage, "hf"));
      expect(!outcome.ok && outcome.error).toMatchObject({
        code: "E_PATH_ESCAPE",
        path: "hf/model.safetensors.index.json",
      });
    });
  }

  it("a .metadata with an absolute relative_path is reported by verify naming the .metadata", async () => {
    const meta = decodeMetadata(seed("dcp/.metadata").bytes, ".metadata");
    const storageData = new Map(meta.storageData);
    const [key, item] = [...storageData][0];
    storageData.set(key, { ...item, info: { ...item.info, relativePath: "/etc/passwd" } });
    const storage = new MemoryStorage();
    await storage.writeAll("ck/.metadata", encodeMetadata({ ...meta, storageData }));
    const report = await verify({ storage, path: "ck" });
    expect(report.problems).toContainEqual(expect.objectContaining({ code: "E_PATH_ESCAPE", path: "ck/.metadata" }));
    const opened = await guarded(0, () => openTensorSource(storage, "ck"));
    expect(!opened.ok && opened.error).toMatchObject({ code: "E_PATH_ESCAPE", path: "ck/.metadata" });
  });
});

describe("files that are not files, and links that leave the checkpoint", () => {
  it("a shard that is a FIFO is refused with E_NOT_REGULAR before it is opened (no hang)", async () => {
    const hf = nodePath.join(dir, "fifo-hf");
    fs.mkdirSync(hf);
    execFileSync("mkfifo", [nodePath.join(hf, "model-1.safetensors")]);
    const text = `{"metadata":{},"weight_map":{"w":"model-1.safetensors"}}`;
    fs.writeFileSync(nodePath.join(hf, "model.safetensors.index.json"), text);
    const storage = new FileStorage(hf);
    const outcome = await guarded(0, () => openTensorSource(storage, ""));
    expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_NOT_REGULAR", path: "model-1.safetensors" });
    expect(await storage.stat("model-1.safetensors")).toBeUndefined();
  });

  it("a data file that is a character device is refused with E_NOT_REGULAR", async () => {
    const storage = new FileStorage("/dev");
    const outcome = await guarded(0, () => storage.open("zero"));
    expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_NOT_REGULAR", path: "zero" });
  });

  it("a shard linked to a file outside the storage root is refused with E_SYMLINK unless followSymlinks", async () => {
    const outside = nodePath.join(dir, "outside");
    const ck = nodePath.join(dir, "linked");
    fs.mkdirSync(outside);
    fs.mkdirSync(ck);
    fs.writeFileSync(nodePath.join(outside, "secret.safetensors"), manyTensorSafetensors(2));
    fs.symlinkSync(nodePath.join(outside, "secret.safetensors"), nodePath.join(ck, "model.safetensors"));
    fs.symlinkSync("model.safetensors", nodePath.join(ck, "inner.safetensors")); // a link that stays inside
    const refused = await guarded(0, () => openTensorSource(new FileStorage(ck), "model.safetensors"));
    expect(!refused.ok && refused.error).toMatchObject({ code: "E_SYMLINK", path: "model.safetensors" });
    const followed = await openTensorSource(new FileStorage(ck, { followSymlinks: true }), "model.safetensors");
    expect(followed.entries.length).toBe(2);
    await followed.close();
    const inner = await guarded(0, () => openTensorSource(new FileStorage(ck), "inner.safetensors"));
    expect(!inner.ok && inner.error).toMatchObject({ code: "E_SYMLINK" }); // it leads on to the outside file
    fs.writeFileSync(nodePath.join(ck, "real.safetensors"), manyTensorSafetensors(1));
    fs.symlinkSync("real.safetensors", nodePath.join(ck, "alias.safetensors"));
    const alias = await openTensorSource(new FileStorage(ck), "alias.safetensors");
    expect(alias.entries.length).toBe(1);
    await alias.close();
  });

  it("webdcp inspect refuses the outside link by default and follows it with --follow-symlinks", async () => {
    const run = (args: string[]) => runCliIn(dir, args);
    const refused = await run(["inspect", "linked"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("E_SYMLINK");
    const followed = await run(["inspect", "--follow-symlinks", "linked/model.safetensors"]);
    expect(followed.code).toBe(0);
  });
});

describe("values that pass through convert and reshard are checked as verify checks them", () => {
  const unsafe = async () => {
    const storage = new MemoryStorage();
    const w = makeTensor("float32", [4], new Uint8Array(16));
    const payload = new PyReduce(new PyGlobal("os", "system"), tuple("echo pwned"));
    await saveStateDict(storage, "src", { w, extra: { hook: payload } }, { ranks: 1 });
    return storage;
  };

  it("verify flags the value; reshard and convert --to dcp refuse it with E_UNSAFE_VALUE naming the key", async () => {
    const storage = await unsafe();
    const report = await verify({ storage, path: "src" });
    expect(report.problems).toContainEqual(expect.objectContaining({ code: "E_PICKLE_GLOBAL", entry: "extra.hook" }));
    const src = { storage, path: "src" };
    for (
      const run of [
        () => reshard(src, { storage, path: "out1" }, { layout: dimSplitLayout(2) }),
        () => convert(src, { storage, path: "out2" }, { to: "dcp" }),
      ]
    ) {
      const outcome = await guarded(0, run);
      expect(!outcome.ok && outcome.error).toMatchObject({ code: "E_UNSAFE_VALUE" });
      expect(!outcome.ok && outcome.error.message).toContain("'extra.hook'");
      expect(!outcome.ok && outcome.error.path).toMatch(/^src\/__0_0\.distcp$/);
    }
    expect(await storage.stat("out1/.metadata")).toBeUndefined();
  });

  it("reshard copies the value when allowUnsafeValues is given", async () => {
    const storage = await unsafe();
    const report = await reshard({ storage, path: "src" }, { storage, path: "out" }, {
      layout: dimSplitLayout(2),
      allowUnsafeValues: true,
    });
    expect(report.values).toBe(1);
    expect((await verify({ storage, path: "out" })).problems.map((p) => p.code)).toEqual(["E_PICKLE_GLOBAL"]);
  });
});

describe("leftovers of killed runs", () => {
  it("publishing a file removes the temp files earlier runs left for that name, and no other", async () => {
    const out = nodePath.join(dir, "leftovers");
    fs.mkdirSync(out);
    const stale = ["__0_0.distcp.tmp-0123456789abcdef", "__0_0.distcp.tmp-fedcba9876543210"];
    for (const t of stale) fs.writeFileSync(nodePath.join(out, t), new Uint8Array(1024));
    fs.writeFileSync(nodePath.join(out, "__1_0.distcp.tmp-0123456789abcdef"), "another writer's");
    await new FileStorage(out).writeAll("__0_0.distcp", new Uint8Array(8));
    expect(fs.readdirSync(out).sort()).toEqual(["__0_0.distcp", "__1_0.distcp.tmp-0123456789abcdef"]);
  });

  /** A folder holding a 4-element float32 checkpoint of two tensors, as a source to convert. */
  const sourceCheckpoint = async (name: string) => {
    const src = new FileStorage(nodePath.join(dir, name));
    const w = makeTensor("float32", [4], new Uint8Array(16).fill(1));
    await saveStateDict(src, "", { a: w, b: w }, { ranks: 1 });
    return src;
  };

  /** The temps a run killed while writing `names` leaves: each sink opened, written to, never closed. */
  const killedRun = async (out: string, names: string[]) => {
    const storage = new FileStorage(out);
    for (const name of names) await (await storage.create(name)).write(new Uint8Array(4096));
    const temps = fs.readdirSync(out).filter((n) => n.includes(".tmp-"));
    expect(temps).toHaveLength(names.length);
    return temps;
  };

  it("a 2-rank convert --to dcp removes the temps a killed 4-rank run left for all four ranks and .metadata", async () => {
    const src = await sourceCheckpoint("four-ranks-src");
    const out = nodePath.join(dir, "four-ranks-out");
    fs.mkdirSync(out);
    await killedRun(out, ["__0_0.distcp", "__1_0.distcp", "__2_0.distcp", "__3_0.distcp", ".metadata.tmp"]);
    await convert({ storage: src, path: "" }, { storage: new FileStorage(out), path: "" }, {
      to: "dcp",
      layout: dimSplitLayout(2),
    });
    expect(fs.readdirSync(out).sort()).toEqual([".metadata", "__0_0.distcp", "__1_0.distcp"]);
  });

  it("a --part run leaves the temps of the files it does not write (another part may be writing them)", async () => {
    const src = await sourceCheckpoint("part-src");
    const out = nodePath.join(dir, "part-out");
    fs.mkdirSync(out);
    const [other] = await killedRun(out, ["__1_0.distcp"]);
    await convert({ storage: src, path: "" }, { storage: new FileStorage(out), path: "" }, {
      to: "dcp",
      layout: dimSplitLayout(2),
      part: { index: 0, count: 2 },
    });
    expect(fs.readdirSync(out)).toContain(other);
  });

  it("a safetensors convert into 1 shard removes the temps a killed 3-shard run left", async () => {
    const src = await sourceCheckpoint("shards-src");
    const out = nodePath.join(dir, "shards-out");
    fs.mkdirSync(out);
    await killedRun(out, [
      "model-00001-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    await convert({ storage: src, path: "" }, { storage: new FileStorage(out), path: "" }, { to: "safetensors" });
    expect(fs.readdirSync(out).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});

describe("names from checkpoints in human output", () => {
  const run = (args: string[]) => runCliIn(dir, args);
  // deno-lint-ignore no-control-regex
  const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

  it("inspect, convert and verify print terminal escapes in names as \\x1b, and --json keeps them exact", async () => {
    fs.writeFileSync(
      nodePath.join(dir, "names.safetensors"),
      manyTensorSafetensors(HOSTILE_NAMES.length, (i) => HOSTILE_NAMES[i]),
    );
    const shown = await run(["inspect", "names.safetensors"]);
    expect(shown.code).toBe(0);
    expect(shown.out).not.toMatch(RAW_CONTROL);
    expect(shown.out).toContain("\\x1b]0;pwned\\x07\\x1b[2J");
    expect(shown.out).toContain("a\\x9bb\\x0dc");
    for (const n of ["__proto__", "constructor", "toString"]) expect(shown.out).toContain(n);
    const json = JSON.parse((await run(["inspect", "names.safetensors", "--json"])).out);
    expect(json.tensors.map((t: { name: string }) => t.name).sort()).toEqual([...HOSTILE_NAMES].sort());

    const converted = await run(["convert", "names.safetensors", "names-dcp", "--to", "dcp"]);
    expect(converted.code).toBe(0);
    expect(converted.out + converted.err).not.toMatch(RAW_CONTROL);
    const back = JSON.parse((await run(["inspect", "names-dcp", "--json"])).out);
    expect(back.tensors.map((t: { name: string }) => t.name).sort()).toEqual([...HOSTILE_NAMES].sort());
    const verified = await run(["verify", "names-dcp"]);
    expect(verified.code).toBe(0);
    expect(verified.out).not.toMatch(RAW_CONTROL);
  });

  it("an error naming a hostile key is printed escaped", async () => {
    const bad = await run(["convert", "names.safetensors", "x.pt", "--to", "torch", "--include", "\x1b[2J*"]);
    expect(bad.out + bad.err).not.toMatch(RAW_CONTROL);
  });
});

describe("prototype keys in safetensors headers", () => {
  it("__metadata__ keeps a __proto__ key as an ordinary key", async () => {
    const storage = new MemoryStorage();
    await storage.writeAll("m.safetensors", safetensorsOf(`{"__metadata__":{"__proto__":"x","format":"pt"}}`));
    const src = await storage.open("m.safetensors");
    const header = await readSafetensorsHeader(src);
    expect(Object.entries(header.metadata!)).toEqual([["__proto__", "x"], ["format", "pt"]]);
    await src.close();
  });
});

describe(".pt storage classes, dtypes, sizes and strides are checked against each other at open", () => {
  const v3 = (storageClass: string, storageNumel: number, dtype: string, shape: number[]) =>
    new Map([[
      "w",
      new PyReduce(
        new PyGlobal("torch._utils", "_rebuild_tensor_v3"),
        tuple(
          new PyPersistent(tuple("storage", new PyGlobal("torch", storageClass), "0", "cpu", storageNumel)),
          0,
          new PyTuple(shape),
          new PyTuple(shape.map((_, d) => shape.slice(d + 1).reduce((p, s) => p * s, 1))),
          false,
          new PyReduce(new PyGlobal("collections", "OrderedDict"), tuple()),
          new PyGlobal("torch", dtype),
        ),
      ),
    ]]);

  for (
    const [label, pickle, code] of [
      ["a float16 view of a FloatStorage", v3("FloatStorage", 4, "float16", [8]), "E_TORCH_ARCHIVE"],
      [
        "a float64 view of 16 untyped bytes claiming 8 elements",
        v3("UntypedStorage", 16, "float64", [8]),
        "E_OUT_OF_RANGE",
      ],
    ] as const
  ) {
    it(`verify (not deep) refuses ${label} with ${code}`, async () => {
      const bytes = await buildArchive({ pickle, storages: [new Uint8Array(16)] });
      const storage = new MemoryStorage();
      await storage.writeAll("v.pt", bytes);
      const report = await verify({ storage, path: "v.pt" });
      expect(report.problems).toEqual([expect.objectContaining({ code, path: "v.pt" })]);
    });
  }
});

describe("limits are overridable for the rare legitimate giant", () => {
  it("openTensorSource() and webdcp inspect --limits accept a file refused under the defaults", async () => {
    const storage = new MemoryStorage();
    await storage.writeAll("long.safetensors", manyTensorSafetensors(1, () => "n".repeat(20_000)));
    const raised = await openTensorSource(storage, "long.safetensors", { limits: { maxNameLength: 32_768 } });
    expect(raised.entries[0].name.length).toBe(20_000);
    await raised.close();
    fs.writeFileSync(nodePath.join(dir, "few.safetensors"), manyTensorSafetensors(3));
    const limited = (limits: string) => runCliIn(dir, ["inspect", "few.safetensors", "--limits", limits]);
    const refused = await limited("maxTensors=2");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("maxTensors=2");
    expect((await limited("maxTensors=3")).code).toBe(0);
    expect((await limited("maxTensor=3")).code).toBe(2);
  });
});

describe("pyEqual() on large unordered containers", () => {
  it("two 100k-element sets of distinct tuples settle (bounded by the step budget)", async () => {
    const set = (salt: number) => new Set(Array.from({ length: 100_000 }, (_, i) => tuple(i, salt)));
    const out = await guarded(0, () => pyEqual(set(1), set(2)));
    expect(out.ok && out.value).not.toBe(true);
  });
});

describe("fuzz regressions (hostile classes)", () => {
  it("a torch.save file whose state dict has a dict as a key is refused with a typed error naming the file", async () => {
    // Found by hostile_classes.test.ts (seed 24301): {"k": {}, ...} where SETITEM pairs a list key with a dict.
    const pickle = Uint8Array.from([
      128,
      2,
      125,
      88,
      1,
      0,
      0,
      0,
      107,
      125,
      114,
      0,
      0,
      0,
      0,
      93,
      114,
      1,
      0,
      0,
      0,
      93,
      114,
      2,
      0,
      0,
      0,
      115,
      46,
    ]);
    const e = await refusal("key.pt", await pt(pickle));
    expect(e).toMatchObject({ code: "E_UNSUPPORTED", path: "key.pt" });
  });
});
