import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe as suite, expect, inject, it } from "vitest";
import { runCli } from "../../src/cli/main.ts";
import { convert, diff, inspect, verify } from "../../src/jobs/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { encodePickle, PyGlobal, PyPersistent, PyReduce, PyTuple, type PyValue, tuple } from "../../src/pickle/mod.ts";
import { memorySource } from "../../src/storage/byte_source.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { isLegacyTorchHead, loadTorch, openTorchArchive } from "../../src/torch/mod.ts";
import { describe } from "./describe.ts";

const PY = fileURLToPath(new URL("./py/", import.meta.url));
const engine = createCpuEngine();
let dir = "";
let storage: FileStorage;
let written: { refused: Record<string, string>; files: Record<string, unknown>; untyped: unknown };

function python(script: string, ...args: string[]): string {
  return execFileSync(inject("python"), [nodePath.join(PY, script), ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
}

beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(fs.realpathSync("/tmp"), "webdcp-legacy-"));
  fs.mkdirSync(nodePath.join(dir, "in"));
  fs.mkdirSync(nodePath.join(dir, "out"));
  written = JSON.parse(python("legacy_writes.py", nodePath.join(dir, "in")));
  storage = new FileStorage(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A described value with the entries of every dict sorted by key. */
function unordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unordered);
  if (typeof v !== "object" || v === null) return v;
  if ("dict" in v) {
    const entries = (v as { dict: [unknown, unknown][] }).dict.map(([k, x]) => [k, unordered(x)]);
    return { dict: entries.sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1)) };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unordered(x)]));
}

async function load(name: string): Promise<PyValue> {
  const src = await storage.open(`in/${name}`);
  try {
    return await loadTorch(src);
  } finally {
    await src.close();
  }
}

suite("legacy torch.save files written by real torch (_use_new_zipfile_serialization=False)", () => {
  it("are written for every dtype with a legacy storage class; the rest torch itself refuses", () => {
    const saved = (written.files["dtypes.pt"] as { dict: unknown[] }).dict.length;
    expect(saved).toBeGreaterThanOrEqual(12);
    expect(Object.keys(written.refused).length + saved).toBe(21);
  });

  it("loadTorch() reads the dtypes torch writes with an untyped storage but cannot load back, bit for bit", async () => {
    expect((written.untyped as { dict: unknown[] }).dict.length).toBeGreaterThan(0);
    expect(describe(await load("untyped.pt"))).toEqual(written.untyped);
  });

  for (
    const name of [
      "dtypes.pt",
      "views.pt",
      "shared.pt",
      "nested.pt",
      "nested_str.pt",
      "module_state.pt",
      "protocol4.pt",
      "big_pickle.pt",
    ]
  ) {
    it(`loadTorch() reads '${name}' as torch.load(weights_only=True) does, bit for bit`, async () => {
      expect(describe(await load(name))).toEqual(written.files[name]);
    });
  }

  it("are told by their first bytes, whatever the pickle protocol", async () => {
    for (const name of ["dtypes.pt", "protocol4.pt"]) {
      expect(isLegacyTorchHead(await storage.read(`in/${name}`, 0, 32))).toBe(true);
    }
    expect(isLegacyTorchHead(Uint8Array.of(0x50, 0x4b, 3, 4))).toBe(false);
  });

  it("are opened with a few reads: the pickles, then the counts of storages lying close in one window", async () => {
    const src = await storage.open("in/dtypes.pt");
    let reads = 0;
    const counted = { ...src, read: (o: number, n: number) => (reads++, src.read(o, n)), readInto: undefined };
    const archive = await openTorchArchive(counted);
    expect(archive.records.size).toBe(12);
    expect(reads).toBeLessThanOrEqual(4); // both ends (one read for a small file), the pickles, the counts
    await src.close();
  });

  it("the CLI's inspect, verify --deep, convert and diff accept them", async () => {
    const run = async (...args: string[]) => {
      let err = "";
      const code = await runCli({
        args,
        out: () => {},
        err: (t) => void (err += t),
        stderrIsTty: false,
        columns: 100,
        exit: () => {},
        cwd: () => dir,
      });
      return { code, err };
    };
    expect(await run("inspect", "in/views.pt")).toEqual({ code: 0, err: "" });
    expect(await run("verify", "in/views.pt", "--deep")).toEqual({ code: 0, err: "" });
    expect(await run("convert", "in/views.pt", "out/cli.safetensors", "--to", "safetensors")).toMatchObject({
      code: 0,
    });
    expect(await run("diff", "in/views.pt", "out/cli.safetensors")).toMatchObject({ code: 0 });
  });

  it("keep shared storages shared: tensors of one storage name one record", async () => {
    const src = await storage.open("in/shared.pt");
    const archive = await openTorchArchive(src);
    const v = archive.value as unknown as Map<string, { storageKey: string; storageOffset: number }>;
    expect(v.get("a")!.storageKey).toBe(v.get("b")!.storageKey);
    expect(v.get("c")!.storageKey).toBe(v.get("a")!.storageKey);
    expect(v.get("c")!.storageOffset).toBe(4);
    expect([...archive.records.keys()]).toHaveLength(1);
    await src.close();
  });

  it("inspect() and verify() accept them; diff() finds a file equal to its zip conversion", async () => {
    const report = await inspect({ storage, path: "in/views.pt" });
    expect(report.format).toBe("torch");
    expect(report.tensors.find((t) => t.name === "block")).toMatchObject({
      dtype: "float32",
      shape: [3, 5],
      bytes: 60,
    });
    expect(await verify({ storage, path: "in/nested.pt" }, { deep: true })).toMatchObject({ ok: true, problems: [] });
    await convert({ storage, path: "in/nested.pt" }, { storage, path: "out/nested_zip.pt" }, { to: "torch", engine });
    const d = await diff({ storage, path: "in/nested.pt" }, { storage, path: "out/nested_zip.pt" }, { engine });
    expect(d.identical).toBe(true);
    expect(d.tensors.length).toBeGreaterThan(4);
  });

  it("convert() to .pt, safetensors and DCP gives what torch.load gives for the legacy file, bit for bit", async () => {
    const loads: string[] = [];
    for (const name of ["dtypes", "views", "shared", "nested_str", "big_pickle"]) {
      await convert({ storage, path: `in/${name}.pt` }, { storage, path: `out/${name}.pt` }, { to: "torch", engine });
      loads.push(`pt:${dir}/in/${name}.pt`, `pt:${dir}/out/${name}.pt`);
    }
    for (const name of ["dtypes", "views", "shared"]) {
      await convert({ storage, path: `in/${name}.pt` }, { storage, path: `out/${name}_dcp` }, { to: "dcp", engine });
      loads.push(`pt:${dir}/in/${name}.pt`, `dcp:${dir}/out/${name}_dcp`);
    }
    await convert({ storage, path: "in/views.pt" }, { storage, path: "out/views.safetensors" }, {
      to: "safetensors",
      engine,
    });
    const described = JSON.parse(python("load_any.py", ...loads, `st:${dir}/out/views.safetensors`));
    // Python compares dicts without order; webdcp nests a .pt output in the order its storages are read.
    for (let i = 0; i + 1 < loads.length; i += 2) {
      expect({ pair: loads[i + 1], value: unordered(described[i + 1]) }).toEqual({
        pair: loads[i + 1],
        value: unordered(described[i]),
      });
    }
    const views = new Map((written.files["views.pt"] as { dict: [string, unknown][] }).dict);
    const st = new Map((described[loads.length] as { dict: [string, unknown][] }).dict);
    expect(st).toEqual(views);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hostile variants, built pickle by pickle.

const MAGIC = 0x1950a86a20f9469cfc6cn;
const SYS_INFO = new Map<PyValue, PyValue>([["protocol_version", 1001], ["little_endian", true]]);

function storageId(key: string, numel: number, view: PyValue = null, cls = "FloatStorage"): PyPersistent {
  return new PyPersistent(tuple("storage", new PyGlobal("torch", cls), key, "cpu", numel, view));
}

function tensorOf(pid: PyPersistent, offset: number, shape: number[], stride: number[]): PyReduce {
  return new PyReduce(
    new PyGlobal("torch._utils", "_rebuild_tensor_v2"),
    tuple(
      pid,
      offset,
      new PyTuple(shape),
      new PyTuple(stride),
      false,
      new PyReduce(new PyGlobal("collections", "OrderedDict"), tuple()),
    ),
  );
}

interface Parts {
  magic?: PyValue;
  protocol?: PyValue;
  object?: PyValue;
  keys?: PyValue;
  /** Element count written before each storage, and the storage's bytes. */
  storages?: Array<{ count: bigint; bytes: Uint8Array }>;
}

function legacyFile(parts: Parts = {}): Uint8Array {
  const pickles = [
    parts.magic ?? MAGIC,
    parts.protocol ?? 1001,
    SYS_INFO,
    parts.object ?? new Map([["w", tensorOf(storageId("0", 6), 0, [2, 3], [3, 1])]]),
    parts.keys ?? ["0"],
  ].map((v) => encodePickle(v, { protocol: 2 }));
  const storages = (parts.storages ?? [{ count: 6n, bytes: new Uint8Array(24).fill(7) }]).flatMap((s) => {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigUint64(0, s.count, true);
    return [count, s.bytes];
  });
  const all = [...pickles, ...storages];
  const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of all) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

async function codeOf(bytes: Uint8Array, read = false): Promise<{ code: string; path?: string; offset?: number }> {
  const err = await (async () => {
    const archive = await openTorchArchive(memorySource(bytes, "bad.pt"));
    if (read) await loadTorch(memorySource(bytes, "bad.pt"));
    return archive;
  })().then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(WebdcpError);
  const { code, path, offset } = err as WebdcpError;
  return { code, path, offset };
}

/** Offset of the first storage's count: everything before it is the five pickles. */
function dataStart(bytes: Uint8Array): number {
  return bytes.length - 32;
}

suite("legacy torch.save files that lie", () => {
  it("the hand-built baseline opens, so each case below fails for its own reason", async () => {
    const v = await loadTorch(memorySource(legacyFile(), "ok.pt"));
    expect(describe(v)).toEqual({
      dict: [["w", { tensor: { dtype: "float32", shape: [2, 3], hex: "07".repeat(24) } }]],
    });
  });

  it("refuses an element count that differs from the declared one, naming the count's offset", async () => {
    const bytes = legacyFile({ storages: [{ count: 5n, bytes: new Uint8Array(24) }] });
    expect(await codeOf(bytes)).toEqual({ code: "E_TORCH_ARCHIVE", path: "bad.pt", offset: dataStart(bytes) });
  });

  it("refuses a count of 2**63 elements (no read of that size is attempted)", async () => {
    const bytes = legacyFile({ storages: [{ count: 1n << 63n, bytes: new Uint8Array(24) }] });
    expect((await codeOf(bytes)).code).toBe("E_TORCH_ARCHIVE");
  });

  it("refuses storages that run past the end of the file (E_TRUNCATED)", async () => {
    const bytes = legacyFile().subarray(0, -1);
    expect(await codeOf(bytes)).toEqual({ code: "E_TRUNCATED", path: "bad.pt", offset: dataStart(legacyFile()) });
  });

  it("refuses a file cut inside its pickles (E_TRUNCATED)", async () => {
    expect((await codeOf(legacyFile().subarray(0, 60))).code).toBe("E_TRUNCATED");
  });

  it("widens the pickle window only up to the file: a string declaring 1 GiB in 200 KB is E_TRUNCATED", async () => {
    const head = legacyFile();
    const sysInfoEnd = [MAGIC, 1001, SYS_INFO].reduce((n, v) => n + encodePickle(v, { protocol: 2 }).length, 0);
    const bytes = new Uint8Array(200_000);
    bytes.set(head.subarray(0, sysInfoEnd));
    // PROTO 2, BINUNICODE with a 2**30-byte length: the object pickle's first opcode.
    bytes.set([0x80, 0x02, 0x58, 0x00, 0x00, 0x00, 0x40], sysInfoEnd);
    const err = await codeOf(bytes);
    expect(err).toMatchObject({ code: "E_TRUNCATED", path: "bad.pt", offset: sysInfoEnd + 2 });
  });

  it("refuses keys listed twice, listed but never declared, and declared but never listed", async () => {
    const twice = legacyFile({
      keys: ["0", "0"],
      storages: [{ count: 6n, bytes: new Uint8Array(24) }, { count: 6n, bytes: new Uint8Array(24) }],
    });
    expect((await codeOf(twice)).code).toBe("E_TORCH_ARCHIVE");
    expect((await codeOf(legacyFile({ keys: ["1"] }))).code).toBe("E_TORCH_ARCHIVE");
    expect((await codeOf(legacyFile({ keys: [], storages: [] }))).code).toBe("E_TORCH_ARCHIVE");
    expect((await codeOf(legacyFile({ keys: "0" }))).code).toBe("E_TORCH_ARCHIVE");
  });

  it("refuses a storage view that leaves its root storage", async () => {
    const object = new Map([["w", tensorOf(storageId("0", 6, tuple("v", 4, 3)), 0, [3], [1])]]);
    expect(await codeOf(legacyFile({ object }))).toMatchObject({ code: "E_TORCH_ARCHIVE", path: "bad.pt" });
  });

  it("reads a storage view inside its root as torch does (offset in elements)", async () => {
    const object = new Map([["w", tensorOf(storageId("0", 6, tuple("v", 2, 3)), 1, [2], [1])]]);
    const bytes = new Uint8Array(24).map((_, i) => i);
    const v = await loadTorch(memorySource(legacyFile({ object, storages: [{ count: 6n, bytes }] }), "view.pt"));
    const hex = describe(v) as { dict: [[string, { tensor: { hex: string } }]] };
    expect(hex.dict[0][1].tensor.hex).toBe("0c0d0e0f10111213");
  });

  it("refuses a tensor whose strides reach past its storage when it is read (E_OUT_OF_RANGE)", async () => {
    const object = new Map([["w", tensorOf(storageId("0", 6), 2, [2, 3], [3, 1])]]);
    expect((await codeOf(legacyFile({ object }), true)).code).toBe("E_OUT_OF_RANGE");
  });

  it("refuses another protocol version, and the zip form's 5-item persistent id", async () => {
    expect((await codeOf(legacyFile({ protocol: 1002 }))).code).toBe("E_UNSUPPORTED");
    const pid = new PyPersistent(tuple("storage", new PyGlobal("torch", "FloatStorage"), "0", "cpu", 6));
    expect((await codeOf(legacyFile({ object: new Map([["w", tensorOf(pid, 0, [6], [1])]]) }))).code).toBe(
      "E_TORCH_ARCHIVE",
    );
  });

  it("refuses globals outside the allow-list and pickled modules from files real torch wrote", async () => {
    for (const name of ["hostile_global.pt", "hostile_module.pt"]) {
      const bytes = new Uint8Array(fs.readFileSync(nodePath.join(dir, "in", name)));
      expect(await codeOf(bytes)).toMatchObject({ code: "E_PICKLE_GLOBAL", path: "bad.pt" });
    }
  });
});
