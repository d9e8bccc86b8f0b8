import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert, diff } from "../../src/jobs/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { writeSafetensors } from "../../src/safetensors/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { makeTensor } from "../../src/tensor/mod.ts";
import { at, removeDir, tempDir } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;

function f32(shape: number[], values: number[]): Tensor {
  return makeTensor("float32", shape, new Uint8Array(new Float32Array(values).buffer));
}

async function safetensorsFile(name: string, tensors: Record<string, Tensor>): Promise<void> {
  const sink = await at(dir).storage.create(name);
  await writeSafetensors(
    sink,
    Object.entries(tensors).map(([n, t]) => ({ name: n, dtype: t.dtype, shape: t.shape, data: t.data })),
  );
  await sink.close();
}

beforeAll(async () => {
  dir = tempDir("diff");
  const values = Array.from({ length: 64 }, (_, i) => Math.sin(i + 1) * 10 ** ((i % 7) - 3));
  await saveStateDict(at(dir).storage, "dcp", { w: f32([8, 8], values), b: f32([3], [1, 2, 3]), step: 4 }, {
    ranks: 2,
  });
  await convert(at(dir, "dcp"), at(dir, "bf16.safetensors"), { to: "safetensors", dtype: "bfloat16", engine });
});
afterAll(() => removeDir(dir));

describe("diff()", () => {
  test("reports the bfloat16 rounding error of a cast copy: below 2^-8 relative, not bit-equal", async () => {
    const r = await diff(at(dir, "dcp"), at(dir, "bf16.safetensors"), { engine });
    const w = r.tensors.find((t) => t.name === "w")!;
    expect(w).toMatchObject({
      mismatch: "dtype",
      dtype: ["float32", "bfloat16"],
      equalBits: false,
      nonFiniteMismatches: 0,
    });
    expect(w.maxRelError).toBeGreaterThan(0);
    expect(w.maxRelError).toBeLessThanOrEqual(2 ** -8);
    expect(w.maxAbsError).toBeGreaterThan(0);
    // 1, 2, 3 are exact in bfloat16.
    expect(r.tensors.find((t) => t.name === "b")).toMatchObject({ maxAbsError: 0, maxRelError: 0 });
    expect(r.onlyInA).toEqual(["step"]);
    expect(r.identical).toBe(false);
  });

  test("a checkpoint equals itself across formats: DCP vs its own float32 safetensors copy", async () => {
    await convert(at(dir, "dcp"), at(dir, "same.safetensors"), { to: "safetensors", engine });
    const r = await diff(at(dir, "same.safetensors"), at(dir, "dcp"), { engine });
    expect(r.tensors.every((t) => t.equalBits && t.maxAbsError === 0)).toBe(true);
    expect(r.onlyInB).toEqual(["step"]);
  });
});

describe("diff() (adversarial)", () => {
  test("lists keys missing on each side and shape mismatches without comparing their values", async () => {
    await safetensorsFile("a.safetensors", { x: f32([2, 2], [1, 2, 3, 4]), onlyA: f32([1], [0]) });
    await safetensorsFile("b.safetensors", { x: f32([4], [1, 2, 3, 4]), onlyB: f32([1], [0]) });
    const r = await diff(at(dir, "a.safetensors"), at(dir, "b.safetensors"), { engine });
    expect(r.onlyInA).toEqual(["onlyA"]);
    expect(r.onlyInB).toEqual(["onlyB"]);
    expect(r.tensors).toEqual([expect.objectContaining({ name: "x", mismatch: "shape", equalBits: false })]);
  });

  test("counts NaN against a number and different infinities apart from the finite errors", async () => {
    await safetensorsFile("n1.safetensors", { x: f32([4], [NaN, Infinity, NaN, 1]) });
    await safetensorsFile("n2.safetensors", { x: f32([4], [0, -Infinity, NaN, 1.5]) });
    const r = await diff(at(dir, "n1.safetensors"), at(dir, "n2.safetensors"), { engine });
    expect(r.tensors[0]).toMatchObject({
      nonFiniteMismatches: 2,
      maxAbsError: 0.5,
      maxRelError: 0.5,
      equalBits: false,
    });
  });
});
