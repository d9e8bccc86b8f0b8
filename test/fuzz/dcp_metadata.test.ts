import fc from "fast-check";
import { afterEach, describe, it } from "vitest";
import { type DcpMetadata, decodeMetadata, encodeMetadata, storageKey } from "../../src/dcp/mod.ts";
import { DTYPES } from "../../src/dtype/mod.ts";
import { dcpFiles, readCheckpoint, totalBytes } from "./dcp_read.ts";
import { fuzzParameters, guarded, reportOutcomes } from "./guard.ts";

/**
 * Byte mutations of `.metadata` mostly break the pickle itself. These edits work on the decoded model of
 * the real file and re-encode it, so each case is a valid pickle whose numbers, paths and chunk layout lie:
 * the checks behind the pickle (tiling, item ranges, path escapes, item/chunk agreement) get exercised.
 */

afterEach((ctx) => reportOutcomes(ctx.task.name));

type Edit =
  | {
    kind: "chunk";
    entry: number;
    chunk: number;
    field: "offsets" | "sizes";
    dim: number;
    value: number;
    rekey: boolean;
  }
  | { kind: "size"; entry: number; dim: number; value: number }
  | { kind: "rank"; entry: number; extra: number }
  | { kind: "dtype"; entry: number; dtype: (typeof DTYPES)[number] }
  | { kind: "dropChunk"; entry: number; chunk: number }
  | { kind: "dupChunk"; entry: number; chunk: number }
  | { kind: "item"; item: number; field: "offset" | "length"; value: number }
  | { kind: "path"; item: number; value: string }
  | { kind: "swapInfo"; a: number; b: number }
  | { kind: "dropItem"; item: number }
  | { kind: "transform"; item: number; value: readonly string[] }
  | { kind: "bytesToTensor"; entry: number };

const index = fc.nat({ max: 16 });
const number = fc.oneof(
  fc.integer({ min: -2, max: 64 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53 - 1, 4 << 20, 16 << 20, (16 << 20) + 1, 1 << 30),
  fc.nat({ max: 20_000 }),
);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant("chunk" as const),
    entry: index,
    chunk: index,
    field: fc.constantFrom("offsets" as const, "sizes" as const),
    dim: index,
    value: number,
    rekey: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("size" as const), entry: index, dim: index, value: number }),
  fc.record({ kind: fc.constant("rank" as const), entry: index, extra: fc.integer({ min: -2, max: 2 }) }),
  fc.record({ kind: fc.constant("dtype" as const), entry: index, dtype: fc.constantFrom(...DTYPES) }),
  fc.record({ kind: fc.constant("dropChunk" as const), entry: index, chunk: index }),
  fc.record({ kind: fc.constant("dupChunk" as const), entry: index, chunk: index }),
  fc.record({
    kind: fc.constant("item" as const),
    item: index,
    field: fc.constantFrom("offset" as const, "length" as const),
    value: number,
  }),
  fc.record({
    kind: fc.constant("path" as const),
    item: index,
    value: fc.constantFrom(
      "__0_0.distcp",
      "__1_0.distcp",
      "__2_0.distcp",
      "../__0_0.distcp",
      "/__0_0.distcp",
      "a/../../x",
      "",
      ".metadata",
      "./__1_0.distcp",
      "sub/__0_0.distcp",
      "__0_0.distcp\u0000",
      "..\\__0_0.distcp",
      ".",
    ),
  }),
  fc.record({ kind: fc.constant("swapInfo" as const), a: index, b: index }),
  fc.record({ kind: fc.constant("dropItem" as const), item: index }),
  fc.record({
    kind: fc.constant("transform" as const),
    item: index,
    value: fc.constantFrom(["stream.zstd/1"], ["rot13"], []),
  }),
  fc.record({ kind: fc.constant("bytesToTensor" as const), entry: index }),
);

function at<T>(list: T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

function applyEdit(meta: DcpMetadata, e: Edit): void {
  const entries = [...meta.stateDictMetadata];
  const items = [...meta.storageData];
  const tensor = (i: number) => {
    const hit = at(entries.filter(([, x]) => x.kind === "tensor"), i);
    return hit && hit[1].kind === "tensor" ? { fqn: hit[0], t: hit[1] } : undefined;
  };
  switch (e.kind) {
    case "chunk": {
      const hit = tensor(e.entry);
      const c = hit && at(hit.t.chunks, e.chunk);
      if (!hit || !c || c[e.field].length === 0) return;
      const oldKey = storageKey(hit.fqn, c.offsets);
      c[e.field][e.dim % c[e.field].length] = e.value;
      const item = meta.storageData.get(oldKey);
      if (e.rekey && item) {
        meta.storageData.delete(oldKey);
        meta.storageData.set(storageKey(hit.fqn, c.offsets), { ...item, offsets: [...c.offsets] });
      }
      return;
    }
    case "size": {
      const hit = tensor(e.entry);
      if (hit && hit.t.size.length > 0) hit.t.size[e.dim % hit.t.size.length] = e.value;
      return;
    }
    case "rank": {
      const hit = tensor(e.entry);
      if (!hit) return;
      if (e.extra > 0) hit.t.size.push(...Array(e.extra).fill(1));
      else hit.t.size.splice(hit.t.size.length + e.extra);
      return;
    }
    case "dtype": {
      const hit = tensor(e.entry);
      if (hit) hit.t.dtype = e.dtype;
      return;
    }
    case "dropChunk": {
      const hit = tensor(e.entry);
      if (hit && hit.t.chunks.length > 0) hit.t.chunks.splice(e.chunk % hit.t.chunks.length, 1);
      return;
    }
    case "dupChunk": {
      const hit = tensor(e.entry);
      const c = hit && at(hit.t.chunks, e.chunk);
      if (hit && c) hit.t.chunks.push({ offsets: [...c.offsets], sizes: [...c.sizes] });
      return;
    }
    case "item": {
      const hit = at(items, e.item);
      if (hit) hit[1].info[e.field] = e.value;
      return;
    }
    case "path": {
      const hit = at(items, e.item);
      if (hit) hit[1].info.relativePath = e.value;
      return;
    }
    case "swapInfo": {
      const [a, b] = [at(items, e.a), at(items, e.b)];
      if (a && b) [a[1].info, b[1].info] = [b[1].info, a[1].info];
      return;
    }
    case "dropItem": {
      const hit = at(items, e.item);
      if (hit) meta.storageData.delete(hit[0]);
      return;
    }
    case "transform": {
      const hit = at(items, e.item);
      if (hit) hit[1].info.transformDescriptors = [...e.value];
      return;
    }
    case "bytesToTensor": {
      const hit = at(entries.filter(([, x]) => x.kind === "bytes"), e.entry);
      if (hit) {
        meta.stateDictMetadata.set(hit[0], {
          kind: "tensor",
          dtype: "float32",
          size: [2],
          chunks: [{ offsets: [0], sizes: [2] }],
          requiresGrad: false,
          pinMemory: false,
          memoryFormat: "contiguous",
          strides: [1],
        });
      }
      return;
    }
  }
}

describe("openDcp() on a real .metadata whose decoded layout was edited and re-encoded", () => {
  const original = dcpFiles[0].bytes;

  it("every reader returns well-formed tensors and values or a typed error after layout edits", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const meta = decodeMetadata(original, ".metadata");
        for (const e of edits) applyEdit(meta, e);
        const bytes = encodeMetadata(meta);
        const set = [{ ...dcpFiles[0], bytes }, ...dcpFiles.slice(1)];
        await guarded(totalBytes(set), () => readCheckpoint(set));
      }),
      fuzzParameters(600),
    );
  });
});
