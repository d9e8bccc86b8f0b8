/**
 * `loadTorch()` on values decoded as graphs (issue 11): deep nesting, shared parts and containers inside
 * themselves are copied with a work list, not recursion, under the fuzz guard (time and memory per case).
 */
import { describe, expect, it } from "vitest";
import { encodePickle, PyTuple, type PyValue } from "../../src/pickle/mod.ts";
import { memorySource } from "../../src/storage/mod.ts";
import { isTensor } from "../../src/tensor/mod.ts";
import { loadTorch } from "../../src/torch/mod.ts";
import { guarded } from "../fuzz/guard.ts";
import { dagPickle, PickleBytes } from "../fuzz/hostile_inputs.ts";
import { buildArchive, rebuildV2 } from "./build_archive.ts";

const EMPTY_DICT = 0x7d, EMPTY_LIST = 0x5d, SETITEM = 0x73, APPEND = 0x61, TUPLE1 = 0x85, POP = 0x30;

/** The opcodes of a pickled 1-element float32 tensor (no PROTO, no STOP), to splice into a hand-made stream. */
function tensorOpcodes(): number[] {
  const whole = encodePickle(rebuildV2("FloatStorage", "0", 1, 0, [1], [1]), { protocol: 2 });
  return [...whole.subarray(2, whole.length - 1)];
}

/** `{"x": [[[...[tensor]...]]]}`: `depth` lists, one inside the other, a tensor in the innermost. */
function deepTensorPickle(depth: number): Uint8Array {
  const p = new PickleBytes().op(EMPTY_DICT).str("x");
  for (let i = 0; i < depth; i++) p.op(EMPTY_LIST);
  p.op(...tensorOpcodes());
  for (let i = 0; i < depth; i++) p.op(APPEND);
  return p.op(SETITEM).done();
}

const storage = Float32Array.of(1.5);
const archive = (pickle: Uint8Array) => buildArchive({ pickle, storages: [new Uint8Array(storage.buffer)] });

describe("loadTorch() of values that are graphs", () => {
  it("loadTorch() of 100k nested lists refuses with E_LIMIT maxDepth naming the file, and loads them when raised", async () => {
    const bytes = await archive(deepTensorPickle(100_000));
    const refused = await guarded(bytes.byteLength, () => loadTorch(memorySource(bytes, "deep.pt")));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatchObject({ code: "E_LIMIT", limit: "maxDepth", path: "deep.pt" });
    expect(!refused.ok && refused.error.offset).toBeGreaterThan(0); // where data.pkl starts

    const loaded = await guarded(
      bytes.byteLength,
      () => loadTorch(memorySource(bytes, "deep.pt"), { limits: { maxDepth: 200_000 } }),
    );
    if (!loaded.ok) throw loaded.error;
    let v = (loaded.value as Map<string, PyValue>).get("x");
    let depth = 0;
    while (Array.isArray(v)) [v, depth] = [v[0], depth + 1];
    expect(depth).toBe(100_000);
    expect(isTensor(v) && [...new Float32Array(v.data.slice().buffer)]).toEqual([1.5]);
  });

  it("loadTorch() of a 30-level DAG (2^30 leaves as a tree) copies each shared dict once", async () => {
    const bytes = await archive(dagPickle(30));
    const out = await guarded(bytes.byteLength, () => loadTorch(memorySource(bytes, "dag.pt")));
    if (!out.ok) throw out.error;
    let level = out.value as Map<string, PyValue>;
    for (let i = 0; i < 30; i++) {
      expect(level.get("a")).toBe(level.get("b"));
      level = level.get("a") as Map<string, PyValue>;
    }
    expect(level.get("w")).toBe(1);
  });

  it("loadTorch() keeps a tuple that holds itself through a list, as torch.load does", async () => {
    // t = ([],); t[0].append(t); {"x": t}
    const pickle = new PickleBytes().op(EMPTY_DICT).str("x").op(EMPTY_LIST).put(0).op(TUPLE1).put(1)
      .get(0).get(1).op(APPEND, POP).op(SETITEM).done();
    const bytes = await archive(pickle);
    const out = await guarded(bytes.byteLength, () => loadTorch(memorySource(bytes, "cycle.pt")));
    if (!out.ok) throw out.error;
    const t = (out.value as Map<string, PyValue>).get("x") as PyTuple;
    expect(t).toBeInstanceOf(PyTuple);
    expect((t.items[0] as PyValue[])[0]).toBe(t);
  });
});
