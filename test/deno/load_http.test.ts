/// <reference lib="deno.ns" />
// loadToGpu() in Deno: the example's demo checkpoint (a 4-rank DCP), served over HTTP by the example's own
// Range + CORS server (examples/browser/serve.ts), loaded into Deno's WebGPU (wgpu) and read back; every
// tensor must equal what dcp.openDcp() reads from the files, and the load must cost one request per file.
// Run: DENO_WEBGPU_BACKEND=vulkan npx deno test -A test/deno/load_http.test.ts
// A missing adapter fails unless WEBDCP_ALLOW_NO_GPU=1 (and always fails when CI or WEBDCP_REQUIRE_GPU=1).
import { dcp, FileStorage, loadToGpu } from "../../mod.ts";
import { assertBytes, gpuEngine } from "./gpu_helpers.ts";
import { convertCpu } from "../../src/engine/mod.ts";
import { serveExample } from "../../examples/browser/serve.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";

Deno.test("loadToGpu() loads the example's 4-rank DCP over HTTP into Deno's WebGPU bit-exactly, one request per file", async () => {
  const engine = await gpuEngine();
  if (!engine) return;
  const cacheDir = await Deno.makeTempDir({ prefix: "webdcp-deno-load-" });
  const server = await serveExample({ port: 0, cacheDir });
  try {
    const files = [...Deno.readDirSync(`${cacheDir}/ckpt`)].map((e) => e.name).sort();
    server.requests.length = 0;
    const load = await loadToGpu(`${server.url}ckpt/`, { engine, dtype: "bfloat16" });
    const ckpt = await dcp.openDcp(new FileStorage(cacheDir), "ckpt");
    try {
      const names = ckpt.entries().filter((e) => e.kind === "tensor").map((e) => e.name).sort();
      if (JSON.stringify([...load.tensors.keys()].sort()) !== JSON.stringify(names)) {
        throw new Error("tensor names differ");
      }
      for (const name of names) {
        const stored = await ckpt.readTensor(name);
        const want = stored.dtype === "bfloat16" ? stored.data : convertCpu(stored.data, stored.dtype, "bfloat16");
        const t = load.tensors.get(name)!;
        assertBytes(await readGpuBuffer(engine.context.device, t.buffer, t.byteLength), want, name);
      }
    } finally {
      await ckpt.close();
    }
    const asked = server.requests.map((r) => r.path.replace(/^\/ckpt\//, "")).sort();
    if (JSON.stringify(asked) !== JSON.stringify(files)) {
      throw new Error(`expected one request per file ${JSON.stringify(files)}, got ${JSON.stringify(asked)}`);
    }
    load.destroy();
  } finally {
    await server.close();
    engine.dispose();
    await Deno.remove(cacheDir, { recursive: true });
  }
});
