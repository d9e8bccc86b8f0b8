/// <reference lib="deno.ns" />
// The engine on Deno's own WebGPU (wgpu; llvmpipe through the GL backend here): every 16- and 8-bit
// pattern, random float32/float64, region copies and row gathers must equal the CPU twin bit for bit.
// Run: DENO_WEBGPU_BACKEND=vulkan npx deno test -A test/deno/engine_gpu.test.ts (or =gl: same results)
// A missing adapter fails unless WEBDCP_ALLOW_NO_GPU=1 (and always fails when CI or WEBDCP_REQUIRE_GPU=1).
import { convertCpu, copyRegionCpu, gatherRowsCpu } from "../../src/engine/mod.ts";
import { assertBytes, gpuEngine } from "./gpu_helpers.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS } from "../../src/dtype/mod.ts";
import { itemsize } from "../../src/dtype/mod.ts";
import { randomWords } from "../engine/random.ts";

function patterns(dtype: string, seed: number): Uint8Array {
  const size = itemsize(dtype as "float32");
  if (size === 1) return Uint8Array.from({ length: 256 }, (_, i) => i);
  if (size === 2) return new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer);
  return new Uint8Array(randomWords(size === 4 ? 1_000_000 : 500_000, seed).buffer);
}

Deno.test("Deno WebGPU: convert equals the CPU twin on every 8/16-bit pattern and 1M random float32/float64", async () => {
  const engine = await gpuEngine();
  if (!engine) return;
  try {
    console.log(`adapter: ${engine.adapterName}`);
    for (const from of CONVERT_SOURCES) {
      const input = patterns(from, 17);
      for (const to of CONVERT_TARGETS) {
        if (from === to) continue;
        assertBytes(await engine.convert(input, from, to), convertCpu(input, from, to), `${from} -> ${to}`);
      }
    }
  } finally {
    engine.dispose();
  }
});

Deno.test("Deno WebGPU: region copy and row gather equal the CPU twin", async () => {
  const engine = await gpuEngine();
  if (!engine) return;
  try {
    const srcBox = { offsets: [0, 0, 0], sizes: [9, 13, 7] };
    const dstBox = { offsets: [2, 3, 1], sizes: [5, 9, 6] };
    const region = { offsets: [3, 4, 2], sizes: [3, 7, 5] };
    const src = new Uint8Array(randomWords(9 * 13 * 7, 4).buffer);
    for (const to of ["bfloat16", "float8_e4m3fn", "float32"] as const) {
      const dst = new Uint8Array(randomWords(5 * 9 * 6, 5).buffer).subarray(0, 5 * 9 * 6 * itemsize(to));
      const viaCpu = dst.slice();
      const viaGpu = dst.slice();
      copyRegionCpu({ src, srcBox, srcDType: "float32", dst: viaCpu, dstBox, dstDType: to, region });
      await engine.copyRegion({ src, srcBox, srcDType: "float32", dst: viaGpu, dstBox, dstDType: to, region });
      assertBytes(viaGpu, viaCpu, `region copy float32 -> ${to}`);
    }
    const rows = [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15];
    const job = {
      src: src.subarray(0, 16 * 21 * 2),
      srcDType: "bfloat16",
      dstDType: "bfloat16",
      rowElements: 21,
      rows,
    } as const;
    assertBytes(await engine.gatherRows(job), gatherRowsCpu(job), "row gather");
  } finally {
    engine.dispose();
  }
});
