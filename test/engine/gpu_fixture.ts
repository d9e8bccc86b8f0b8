import { existsSync } from "node:fs";
import { createEngine, type GpuEngine } from "../../src/engine/mod.ts";

/**
 * The GPU engine for tests on a real WebGPU implementation (Dawn + SwiftShader here). A missing adapter
 * fails the run unless WEBDCP_ALLOW_NO_GPU=1 (and never when CI or WEBDCP_REQUIRE_GPU=1 is set).
 */
export async function gpuEngineForTests(stagingBytes?: number): Promise<GpuEngine | undefined> {
  const swiftshader = "/usr/lib/chromium/vk_swiftshader_icd.json";
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(swiftshader)) {
    process.env.VK_ICD_FILENAMES = swiftshader;
  }
  const required = Boolean(process.env.CI) || process.env.WEBDCP_REQUIRE_GPU === "1" ||
    process.env.WEBDCP_ALLOW_NO_GPU !== "1";
  try {
    return await createEngine({ kind: "gpu", stagingBytes }) as GpuEngine;
  } catch (error) {
    if (required) throw error;
    return undefined;
  }
}
