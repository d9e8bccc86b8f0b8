/**
 * Generated hostile inputs of the classes of issue 11, one property per reader, each case under the guard
 * (time and ArrayBuffer growth): pickles whose memo makes DAGs and cycles, deep nesting, many chunks, huge
 * declared sizes and strides, and names with control characters or prototype keys. A fast subset runs in
 * `npm test`; `npm run fuzz:long` runs 1% of FUZZ_RUNS here (1000 cases per property at 100k).
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { openTensorSource } from "../../src/source/mod.ts";
import {
  checkLayout,
  type DcpMetadata,
  decodeMetadata,
  encodeMetadata,
  type EntryMeta,
  type StorageEntry,
  storageKey,
} from "../../src/dcp/mod.ts";
import { DEFAULT_LIMITS } from "../../src/limits/mod.ts";
import { checkValueGraph } from "../../src/pickle/graph.ts";
import { decodePickle, encodePickle, pyEqual, pyRepr } from "../../src/pickle/mod.ts";
import { readSafetensorsHeader } from "../../src/safetensors/mod.ts";
import { memorySource, MemoryStorage } from "../../src/storage/mod.ts";
import { loadTorch, openTorchArchive } from "../../src/torch/mod.ts";
import { buildArchive, rebuildV2 } from "../torch/build_archive.ts";
import { checkTensor, fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { HOSTILE_NAMES, PickleBytes, safetensorsOf } from "./hostile_inputs.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

/** Each case here is a whole generated file (up to 100k levels deep): a long run takes 1% of FUZZ_RUNS. */
const LONG_SHARE = 0.01;

/** Names a hostile writer picks: control characters, prototype keys, dots, very long ones. */
const hostileName = fc.oneof(
  fc.constantFrom(...HOSTILE_NAMES),
  fc.string({ unit: fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
  fc.constantFrom("a.b", "", ".", "..", "x".repeat(20_000)),
);

/**
 * A pickle program over containers: each step makes a dict or list, puts it in the memo, and fills it with
 * memo references to earlier containers (sharing), to itself (a cycle) or with fresh scalars, under hostile
 * keys; the last container is the root. Optionally wrapped in `depth` dicts built without MARKs.
 */
const graphPickle = fc.record({
  steps: fc.array(
    fc.record({
      dict: fc.boolean(),
      refs: fc.array(fc.oneof(fc.nat(64), fc.constant(-1), fc.constant(-2)), { maxLength: 4 }),
      keys: fc.array(hostileName, { minLength: 4, maxLength: 4 }),
    }),
    { minLength: 1, maxLength: 48 },
  ),
  depth: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.nat(3000), weight: 2 }, {
    arbitrary: fc.constant(100_000),
    weight: 1,
  }),
}).map(({ steps, depth }) => {
  const p = new PickleBytes();
  for (let i = 0; i < depth; i++) p.op(0x7d).str("k"); // EMPTY_DICT, key
  steps.forEach((s, i) => {
    p.op(s.dict ? 0x7d : 0x5d).put(i); // EMPTY_DICT / EMPTY_LIST, LONG_BINPUT i
    s.refs.forEach((r, j) => {
      if (s.dict) p.str(s.keys[j]);
      if (r === -1) p.get(i); // itself: a cycle
      else if (r === -2 || i === 0) p.op(0x4b, j); // BININT1: a scalar
      else p.get(i - 1 - (r % i)); // an earlier container: sharing
      p.op(s.dict ? 0x73 : 0x61); // SETITEM / APPEND
    });
  });
  for (let i = 0; i < depth; i++) p.op(0x73); // SETITEM closes the nesting
  return p.done();
});

describe("generated hostile pickles (DAGs, cycles, deep nesting, hostile keys)", () => {
  it("decodePickle() and every traversal of its value settle within the guard", async () => {
    await fc.assert(
      fc.asyncProperty(graphPickle, async (bytes) => {
        const out = await guarded(bytes.byteLength, () => {
          const v = decodePickle(bytes, { path: "g.pkl" });
          checkValueGraph(v, DEFAULT_LIMITS, { path: "g.pkl" });
          expect(pyRepr(v).length).toBeLessThanOrEqual((1 << 16) + 3);
          // Two decodes are distinct objects, so this walks both (a value compared with itself would not).
          expect(pyEqual(v, decodePickle(bytes, { path: "g.pkl" }))).not.toBe(false);
          return encodePickle(v as never, { protocol: 2 }).byteLength;
        });
        // Re-encoding keeps sharing and cycles by memo, so it stays near the input's size.
        if (out.ok) expect(out.value).toBeLessThan(4 * bytes.byteLength + 1024);
      }),
      fuzzParameters(25, LONG_SHARE),
    );
  });

  it("a torch.save file with such a data.pkl opens (and loads) or is refused with a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(graphPickle, async (pickle) => {
        const bytes = await buildArchive({ pickle });
        const storage = new MemoryStorage();
        await storage.writeAll("g.pt", bytes);
        const out = await guarded(bytes.byteLength, async () => {
          const s = await openTensorSource(storage, "g.pt");
          for (const v of s.entries) if (v.kind === "value") pyRepr(await s.readValue(v.name));
          await s.close();
          return s.entries.length;
        });
        if (out.ok) expect(out.value).toBeLessThanOrEqual(DEFAULT_LIMITS.maxValues);
        await guarded(bytes.byteLength, () => loadTorch(memorySource(bytes, "g.pt")));
      }),
      fuzzParameters(25, LONG_SHARE),
    );
  });
});

describe("generated .metadata (many chunks, huge sizes, deep planner_data, hostile names)", () => {
  const metadata = fc.record({
    names: fc.uniqueArray(hostileName, { minLength: 1, maxLength: 4 }),
    // Up to 2000 chunks: checkLayout's overlap test is quadratic until it uses src/dcp/tiling.ts.
    chunks: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 64 }), weight: 4 }, {
      arbitrary: fc.integer({ min: 500, max: 2000 }),
      weight: 1,
    }),
    dim: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.constant(2 ** 52), fc.constant(2 ** 53 + 2)),
    pathLength: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3 }), weight: 4 }, {
      arbitrary: fc.constant(100_000),
      weight: 1,
    }),
    duplicate: fc.boolean(),
  }).map(({ names, chunks, dim, pathLength, duplicate }) => {
    const stateDictMetadata = new Map<string, EntryMeta>();
    const storageData = new Map<string, StorageEntry>();
    const plannerData = new Map<string, (string | number)[]>();
    for (const name of names) {
      const per = Math.max(1, Math.floor(dim / chunks));
      const list = Array.from({ length: chunks }, (_, i) => ({ offsets: [duplicate ? 0 : i * per], sizes: [per] }));
      stateDictMetadata.set(name, {
        kind: "tensor",
        dtype: "float32",
        size: [dim],
        chunks: list,
        requiresGrad: false,
        pinMemory: false,
        memoryFormat: "contiguous",
        strides: null,
      });
      for (const c of list) {
        const fqn = name;
        storageData.set(storageKey(fqn, c.offsets), {
          fqn,
          offsets: c.offsets,
          index: null,
          info: { relativePath: "__0_0.distcp", offset: 0, length: c.sizes[0] * 4 },
        });
      }
      plannerData.set(name, Array.from({ length: pathLength }, (_, i) => `p${i}`));
    }
    const meta: DcpMetadata = { stateDictMetadata, plannerData, storageData, storageMeta: null, version: "1.0.0" };
    return meta;
  });

  it("decodeMetadata() + checkLayout() of an encoded hostile .metadata settle with a result or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(metadata, async (meta) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeMetadata(meta);
        } catch {
          return; // unencodable shapes (sizes past 2^53) are not a reader's concern
        }
        await guarded(bytes.byteLength, () => {
          const m = decodeMetadata(bytes, "ck/.metadata");
          checkLayout(m, { path: "ck/.metadata" });
        }, 10_000);
      }),
      fuzzParameters(8, LONG_SHARE),
    );
  });
});

describe("generated safetensors headers (many tensors, huge shapes and offsets, hostile names)", () => {
  const header = fc.record({
    count: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 8 }), weight: 4 }, {
      arbitrary: fc.integer({ min: 1000, max: 20_000 }),
      weight: 1,
    }),
    names: fc.array(hostileName, { minLength: 1, maxLength: 8 }),
    shape: fc.array(fc.oneof(fc.nat(8), fc.constant(2 ** 31), fc.constant(2 ** 53)), { maxLength: 4 }),
    end: fc.oneof(fc.nat(64), fc.constant(2 ** 53), fc.constant(2 ** 64)),
  }).map(({ count, names, shape, end }) => {
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = JSON.stringify(i < names.length ? names[i] : `t${i}`);
      parts.push(`${name}:{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[0,${end}]}`);
    }
    return safetensorsOf(`{${parts.join(",")}}`);
  });

  it("readSafetensorsHeader() settles with a header or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(header, async (bytes) => {
        await guarded(bytes.byteLength, () => readSafetensorsHeader(memorySource(bytes, "h.safetensors")));
      }),
      fuzzParameters(30, LONG_SHARE),
    );
  });
});

describe("generated torch.save views (huge sizes, strides and offsets)", () => {
  const view = fc.record({
    storageNumel: fc.integer({ min: 1, max: 64 }),
    offset: fc.oneof(fc.nat(70), fc.constant(2 ** 53 - 1)),
    // Accepted expansions may reach 256 MiB by design; dims stay small or absurd so the guard measures invention.
    shape: fc.array(fc.oneof(fc.nat(16), fc.constant(2 ** 40)), { maxLength: 3 }),
    strides: fc.array(fc.oneof(fc.nat(16), fc.constant(0), fc.constant(2 ** 40)), { minLength: 3, maxLength: 3 }),
  });

  it("openTorchArchive() + readTensor() of a generated view settle with a bounded tensor or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(view, async ({ storageNumel, offset, shape, strides }) => {
        const stride = strides.slice(0, shape.length);
        const bytes = await buildArchive({
          pickle: new Map([["w", rebuildV2("FloatStorage", "0", storageNumel, offset, shape, stride)]]),
          storages: [new Uint8Array(storageNumel * 4)],
        });
        const out = await guarded(bytes.byteLength, async () => {
          const archive = await openTorchArchive(memorySource(bytes, "v.pt"));
          const ref = (archive.value as Map<string, never>).get("w")!;
          return await archive.readTensor(ref);
        });
        // An accepted view reads into at most the bounded expansion (256 MiB) or its storage's bytes.
        if (out.ok) checkTensor(out.value, bytes.byteLength + 16 ** 3 * 4, "w");
      }),
      fuzzParameters(100, LONG_SHARE),
    );
  });
});
