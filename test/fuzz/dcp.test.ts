import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { PyTuple } from "../../src/pickle/mod.ts";
import { dcpFiles as files, dcpLocalFiles, readCheckpoint, totalBytes } from "./dcp_read.ts";
import { fuzzParameters, guarded, reportOutcomes } from "./guard.ts";
import { applyMutation, applyMutations, type Mutation, mutationsOf, tensorByteFlip } from "./mutate.ts";
import { expected, hex, type Seed } from "./seeds.ts";
import { diffBytes } from "./walk.ts";

afterEach((ctx) => reportOutcomes(ctx.task.name));

function withMutation(i: number, apply: (b: Uint8Array) => Uint8Array): Seed[] {
  return files.map((f, j) => (j === i ? { ...f, bytes: apply(f.bytes) } : f));
}

describe("openDcp() + readTensor()/readChunk()/readValue() on a mutated 2-rank dcp.save folder", () => {
  it("reads the unmutated checkpoint as torch saved it", async () => {
    const { tensors, values } = await readCheckpoint(files);
    const want = expected.dcp;
    expect([...tensors.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [fqn, t] of tensors) {
      expect({ dtype: t.dtype, shape: t.shape, hex: hex(t.data) }, fqn).toEqual(want[fqn]);
    }
    expect(Object.fromEntries(values)).toEqual({
      "train_state.step": 7,
      "train_state.betas": new PyTuple([0.9, 0.95]),
    });
  });

  it("every reader returns well-formed tensors and values or a typed error, whichever file is mutated", async () => {
    const mutated = fc.nat({ max: files.length - 1 }).chain((i) => mutationsOf(files[i]).map((ms) => ({ i, ms })));
    await fc.assert(
      fc.asyncProperty(mutated, async ({ i, ms }: { i: number; ms: Mutation[] }) => {
        const set = withMutation(i, (b) => applyMutations(b, ms));
        await guarded(totalBytes(set), () => readCheckpoint(set));
      }),
      fuzzParameters(1000),
    );
  });

  it("a bit flip in a saved chunk's bytes changes its tensor in exactly that bit and nothing else", async () => {
    const original = await readCheckpoint(files);
    const flip = fc.constantFrom(1, 2).chain((i) => tensorByteFlip(files[i]).map((f) => ({ i, ...f })));
    await fc.assert(
      fc.asyncProperty(flip, async ({ i, mutation, owner }) => {
        const set = withMutation(i, (b) => applyMutation(b, mutation));
        const out = await guarded(totalBytes(set), () => readCheckpoint(set));
        expect(out.ok).toBe(true);
        if (!out.ok) return;
        expect(out.value.values).toEqual(original.values);
        for (const [fqn, t] of out.value.tensors) {
          const diff = diffBytes(t.data, original.tensors.get(fqn)!.data);
          expect(diff.length, fqn).toBe(fqn === owner ? 1 : 0);
          if (diff.length === 1) expect([1, 2, 4, 8, 16, 32, 64, 128]).toContain(diff[0].xor);
        }
      }),
      fuzzParameters(200),
    );
  });

  it("reads the unmutated rank-local save (use_collectives=False) as torch saved it", async () => {
    const { tensors } = await readCheckpoint(dcpLocalFiles);
    const w = tensors.get("w")!;
    expect({ dtype: w.dtype, shape: w.shape, hex: hex(w.data) }).toEqual(expected.dcp_local.w);
  });

  it("merging mutated rank-local __<r>.metadata files yields well-formed reads or a typed error", async () => {
    const mutated = fc.nat({ max: dcpLocalFiles.length - 1 }).chain((i) =>
      mutationsOf(dcpLocalFiles[i]).map((ms) => ({ i, ms }))
    );
    await fc.assert(
      fc.asyncProperty(mutated, async ({ i, ms }) => {
        const set = dcpLocalFiles.map((f, j) => (j === i ? { ...f, bytes: applyMutations(f.bytes, ms) } : f));
        await guarded(totalBytes(set), () => readCheckpoint(set));
      }),
      fuzzParameters(400),
    );
  });
});
