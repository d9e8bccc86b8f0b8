import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert } from "../../src/jobs/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import type { DType } from "../../src/dtype/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { UsageError } from "../../src/errors/mod.ts";
import { at, removeDir, runPython, tempDir } from "./fixtures.ts";

const TARGETS: DType[] = ["float32", "bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"];
let dir: string;

beforeAll(() => {
  dir = tempDir("cast");
  runPython("make_cast.py", dir);
});
afterAll(() => removeDir(dir));

async function tensors(path: string): Promise<Map<string, { dtype: string; data: Uint8Array }>> {
  const source = await openTensorSource(at(dir).storage, path);
  try {
    const out = new Map<string, { dtype: string; data: Uint8Array }>();
    for (const e of source.entries) {
      const t = await source.readTensor(e.name);
      out.set(e.name, { dtype: t.dtype, data: t.data });
    }
    return out;
  } finally {
    await source.close();
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  return a.findIndex((x, i) => x !== b[i]);
}

describe("convert --dtype", () => {
  test.each(TARGETS)("casting to %s equals torch .to() bit for bit (NaN, Inf, denormals, ties)", async (dtype) => {
    const out = `ours_${dtype}.safetensors`;
    await convert(at(dir, "src.safetensors"), at(dir, out), { to: "safetensors", dtype, engine: createCpuEngine() });
    const ours = await tensors(out);
    const ref = await tensors(`ref_${dtype}.safetensors`);
    expect([...ours.keys()].sort()).toEqual(["bf16", "f32", "i64"]);
    for (const [name, r] of ref) {
      const o = ours.get(name)!;
      expect(o.dtype, name).toBe(r.dtype);
      expect(firstDifference(o.data, r.data), `${name}: first differing byte`).toBe(-1);
    }
    // Integers are never cast.
    expect(ours.get("i64")!.dtype).toBe("int64");
  });

  test("a cast to an integer dtype is a usage error", async () => {
    await expect(convert(at(dir, "src.safetensors"), at(dir, "x.safetensors"), {
      to: "safetensors",
      dtype: "int8",
      engine: createCpuEngine(),
    })).rejects.toThrow(UsageError);
  });
});
