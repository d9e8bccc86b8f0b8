/// <reference lib="deno.ns" />
// What the Deno GPU suites share: a byte comparison that names the first difference, and the GPU engine,
// which must exist unless WEBDCP_ALLOW_NO_GPU=1 (and always when CI or WEBDCP_REQUIRE_GPU=1 is set).
import { createEngine, type GpuEngine } from "../../src/engine/mod.ts";

export function assertBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.byteLength !== want.byteLength) throw new Error(`${what}: length ${got.byteLength} != ${want.byteLength}`);
  for (let i = 0; i < got.byteLength; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: byte ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/** The GPU engine, or undefined where no adapter exists and that is allowed. */
export async function gpuEngine(): Promise<GpuEngine | undefined> {
  const required = Boolean(Deno.env.get("CI")) || Deno.env.get("WEBDCP_REQUIRE_GPU") === "1" ||
    Deno.env.get("WEBDCP_ALLOW_NO_GPU") !== "1";
  try {
    return await createEngine({ kind: "gpu" }) as GpuEngine;
  } catch (error) {
    if (required) throw error;
    return undefined;
  }
}
