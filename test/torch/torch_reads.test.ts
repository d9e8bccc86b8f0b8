import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe as suite, expect, inject, it } from "vitest";
import { type DType, DTYPE_INFO, DTYPES } from "../../src/dtype/mod.ts";
import { PyFloat, type PyValue, tuple } from "../../src/pickle/mod.ts";
import { type Tensor } from "../../src/tensor/mod.ts";
import { encodeTorch, type LazyTensor, saveTorch, type TorchSaveValue } from "../../src/torch/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";
import { describe } from "./describe.ts";

/** Deterministic element bytes; bool needs 0/1. */
function tensor(dtype: DType, shape: number[], seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1) * DTYPE_INFO[dtype].itemsize;
  const data = Uint8Array.from(
    { length: n },
    (_, i) => dtype === "bool" ? (i + seed) % 2 : (i * 37 + seed * 11) & 0xff,
  );
  return { dtype, shape, data };
}

function lazy(t: Tensor): LazyTensor {
  return { dtype: t.dtype, shape: t.shape, read: () => Promise.resolve(t.data) };
}

const shared = tensor("float32", [2, 2], 5);
const lazyLeaves = [tensor("bfloat16", [3, 3], 2), tensor("uint16", [5], 3)];

const CASES: Record<string, { value: TorchSaveValue; expected?: TorchSaveValue; archiveName?: string }> = {
  dtypes: { value: new Map(DTYPES.map((d, i) => [d, tensor(d, [2, 3], i)])) },
  zero_d_and_empty: {
    value: new Map<TorchSaveValue, TorchSaveValue>([
      ["scalar", tensor("float64", [])],
      ["empty", tensor("int32", [0])],
      ["empty3", tensor("float8_e5m2", [2, 0, 3])],
    ]),
  },
  nested: {
    value: new Map<TorchSaveValue, TorchSaveValue>([
      // a tuple holds PyValues only, so a tensor inside one needs a cast
      ["list", [
        1,
        2.5,
        "text",
        Uint8Array.of(0, 255, 128),
        null,
        true,
        tuple(3, tensor("int8", [2]) as unknown as PyValue),
      ]],
      ["deep", new Map([["x", new Map([["y", tensor("complex64", [1])]])]])],
      ["big", 2n ** 70n],
      ["neg", -3],
      ["float", new PyFloat(2)],
      [7, "int key"],
    ]),
  },
  shared: { value: new Map([["a", shared], ["b", shared], ["c", tensor("int64", [1])]]) },
  lazy: {
    value: new Map(lazyLeaves.map((t, i) => [`w${i}`, lazy(t)])),
    expected: new Map(lazyLeaves.map((t, i) => [`w${i}`, t])),
  },
  bare: { value: tensor("float16", [4, 2]) },
  named: { value: new Map([["x", tensor("float32", [3])]]), archiveName: "my.model" },
};

let dir = "";
let loaded: Record<string, unknown> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "webdcp-torch-reads-"));
  const files: string[] = [];
  for (const [name, c] of Object.entries(CASES)) {
    const sink = new BufferSink(`${name}.pt`);
    await saveTorch(sink, c.value, { archiveName: c.archiveName });
    files.push(join(dir, `${name}.pt`));
    writeFileSync(files[files.length - 1], sink.bytes());
  }
  const script = fileURLToPath(new URL("./py/torch_reads.py", import.meta.url));
  loaded = JSON.parse(execFileSync(inject("python"), [script, ...files], { encoding: "utf8", maxBuffer: 1 << 26 }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

suite("saveTorch() output loaded by torch.load(weights_only=True)", () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`gives torch the '${name}' value bit for bit (also memory-mapped)`, () => {
      expect(loaded[`${name}.pt`]).toEqual(describe(c.expected ?? c.value));
    });
  }
});

suite("encodeTorch()", () => {
  it("gives the same bytes as saveTorch() into a sink", async () => {
    const sink = new BufferSink();
    await saveTorch(sink, CASES.nested.value);
    expect(encodeTorch(CASES.nested.value)).toEqual(sink.bytes());
  });

  it("refuses lazy leaves, which need an await", () => {
    expect(() => encodeTorch(CASES.lazy.value)).toThrow(expect.objectContaining({ code: "E_USAGE" }));
  });
});
