import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { memorySource } from "../../src/storage/mod.ts";
import { isTensor, type Tensor } from "../../src/tensor/mod.ts";
import { isTensorRef, loadTorch, openTorchArchive, type TensorRef } from "../../src/torch/mod.ts";
import { checkTensor, fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { applyMutation, applyMutations, mutationsOf, paddingOverwrite, tensorByteFlip } from "./mutate.ts";
import { expected, hex, seed } from "./seeds.ts";
import { collect, cutBox, diffBytes, upperHalf } from "./walk.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

const pt = seed("tensors.pt");

interface Opened {
  value: unknown;
  /** Every tensor of the archive, keyed by its dict key (seed layout) or its position. */
  tensors: Map<string, Tensor>;
  verified: Promise<void>;
}

/** openTorchArchive + readTensor of every TensorRef (checked well-formed); `verify` is left to the caller. */
async function openAndRead(file: Uint8Array): Promise<Opened> {
  const archive = await openTorchArchive(memorySource(file, "tensors.pt"));
  const names = new Map<TensorRef, string>();
  if (archive.value instanceof Map) { for (const [k, v] of archive.value) if (isTensorRef(v)) names.set(v, String(k)); }
  const tensors = new Map<string, Tensor>();
  for (const [i, ref] of collect(archive.value, isTensorRef).entries()) {
    const t = await archive.readTensor(ref);
    checkTensor(t, file.byteLength, names.get(ref) ?? `#${i}`);
    expect(t.dtype).toBe(ref.dtype);
    expect(t.shape).toEqual(ref.shape);
    const box = upperHalf(ref.shape);
    const part = await archive.readTensor(ref, box);
    checkTensor(part, file.byteLength, `${names.get(ref) ?? `#${i}`} box`);
    expect(hex(part.data), "box read = box cut from the whole read").toBe(hex(cutBox(t, box)));
    tensors.set(names.get(ref) ?? `#${i}`, t);
  }
  return { value: archive.value, tensors, verified: archive.verify() };
}

describe("openTorchArchive() + readTensor() + verify() on a mutated torch.save archive", () => {
  it("reads the unmutated seed as torch wrote it (views, bfloat16, float8, 0-d) and verifies it", async () => {
    const { tensors, verified } = await openAndRead(pt.bytes);
    await verified;
    const want = expected["tensors.pt"];
    expect([...tensors.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, t] of tensors) {
      expect({ dtype: t.dtype, shape: t.shape, hex: hex(t.data) }, name).toEqual(want[name]);
    }
  });

  it("openTorchArchive() yields well-formed tensors or typed errors, and verify() settles typed", async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(pt), async (ms) => {
        const input = applyMutations(pt.bytes, ms);
        await guarded(input.byteLength, async () => {
          const opened = await openAndRead(input);
          return await opened.verified;
        });
      }),
      fuzzParameters(1000),
    );
  });

  it("loadTorch() materialises well-formed tensors or throws a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(mutationsOf(pt), async (ms) => {
        const input = applyMutations(pt.bytes, ms);
        const out = await guarded(input.byteLength, () => loadTorch(memorySource(input, "tensors.pt")));
        if (out.ok) { for (const t of collect(out.value, isTensor)) checkTensor(t, input.byteLength, "loadTorch"); }
      }),
      fuzzParameters(300),
    );
  });

  it("a bit flip in a storage changes each tensor in at most that one bit, and verify() reports E_BAD_CRC", async () => {
    const original = await openAndRead(pt.bytes);
    await fc.assert(
      fc.asyncProperty(tensorByteFlip(pt), async ({ mutation, owner }) => {
        const input = applyMutation(pt.bytes, mutation);
        const out = await guarded(input.byteLength, () => openAndRead(input));
        expect(out.ok).toBe(true);
        if (!out.ok) return;
        expect(out.value.value).toEqual(original.value);
        await expect(out.value.verified).rejects.toMatchObject({ code: "E_BAD_CRC", path: "tensors.pt" });
        for (const [name, t] of out.value.tensors) {
          const diff = diffBytes(t.data, original.tensors.get(name)!.data);
          expect(diff.length, name).toBeLessThanOrEqual(1);
          if (diff.length === 1) expect([1, 2, 4, 8, 16, 32, 64, 128], name).toContain(diff[0].xor);
          if (name === owner) expect(diff.length, `${name} owns the flipped storage`).toBe(1);
        }
      }),
      fuzzParameters(200),
    );
  });

  it("bytes written into torch's alignment padding change nothing and still verify", async () => {
    const original = await openAndRead(pt.bytes);
    await original.verified;
    await fc.assert(
      fc.asyncProperty(paddingOverwrite(pt), async (m) => {
        const input = applyMutation(pt.bytes, m);
        const out = await guarded(input.byteLength, () => openAndRead(input));
        expect(out.ok).toBe(true);
        if (!out.ok) return;
        expect(out.value.value).toEqual(original.value);
        await out.value.verified;
        for (const [name, t] of out.value.tensors) {
          expect(hex(t.data), name).toBe(hex(original.tensors.get(name)!.data));
        }
      }),
      fuzzParameters(200),
    );
  });
});
