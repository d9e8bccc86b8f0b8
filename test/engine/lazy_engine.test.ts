import { describe, expect, it } from "vitest";
import { convertCpu, createLazyEngine } from "../../src/engine/mod.ts";
import { gpuEngineForTests } from "./gpu_fixture.ts";

describe("createLazyEngine()", () => {
  it("acquires nothing until the first call, then runs on the engine it was asked for", async () => {
    await gpuEngineForTests().then((e) => e?.dispose()); // sets up the test adapter (SwiftShader) for Dawn
    const engine = createLazyEngine({ kind: "gpu" });
    expect(engine.kind).toBe("cpu");
    expect(engine.adapterName).toBeUndefined();
    const src = new Uint8Array(new Float32Array([1.5, -2.25, 3e-41, NaN]).buffer);
    expect(await engine.convert(src, "float32", "bfloat16")).toEqual(convertCpu(src, "float32", "bfloat16"));
    expect(engine.kind).toBe("gpu");
    expect(engine.adapterName).toBeTruthy();
    engine.dispose();
  });

  it("disposes cleanly when never used", () => {
    expect(() => createLazyEngine({ kind: "gpu" }).dispose()).not.toThrow();
  });
});
