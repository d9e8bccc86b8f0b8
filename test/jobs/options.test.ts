import { describe, expect, test } from "vitest";
import { convert } from "../../src/jobs/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { UsageError } from "../../src/errors/mod.ts";
import { CONVERT_TARGETS } from "../../src/dtype/mod.ts";

// An empty storage: a job that got past its options check would fail on the missing input (E_NOT_FOUND).
const nowhere = () => ({ storage: new MemoryStorage(), path: "missing" });

describe("convert() options", () => {
  test("convert() refuses dtype float64 in its options check, naming the option dtype", async () => {
    const e = await convert(nowhere(), nowhere(), { to: "dcp", dtype: "float64" }).catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(e).toMatchObject({ code: "E_USAGE", option: "dtype" });
    expect(e.message).toMatch(/^E_USAGE: dtype must be one of float32, bfloat16/);
    expect(e.message).not.toMatch(/--/);
  });

  test("convert() refuses integer casts and a part of a single torch.save file before reading anything", async () => {
    await expect(convert(nowhere(), nowhere(), { to: "dcp", dtype: "int32" })).rejects.toMatchObject({
      option: "dtype",
    });
    await expect(convert(nowhere(), nowhere(), { to: "torch", part: { index: 0, count: 2 } })).rejects.toMatchObject({
      code: "E_USAGE",
      option: "part",
    });
  });

  test("every dtype convert accepts is one the engine converts to", async () => {
    for (const dtype of CONVERT_TARGETS) {
      await expect(convert(nowhere(), nowhere(), { to: "dcp", dtype })).rejects.toMatchObject({ code: "E_NOT_FOUND" });
    }
  });
});
