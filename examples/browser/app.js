// The example page's script: plain JavaScript, no build step. It imports webdcp's browser bundle
// (served as webdcp.js by `npx deno task serve-example`).
import { HttpStorage, loadToGpu, openTensorSource, OpfsCache, preload } from "./webdcp.js";

const CKPT = new URL("ckpt/", location.href).href;
const WEIGHT = "model.layers.0.feed_forward.w1.weight";
const $ = (id) => document.getElementById(id);
const state = (globalThis.exampleState = { loads: 0, cached: false, error: null });

function setProgress(p) {
  $("progress").value = p.bytesTotal ? p.bytesDone / p.bytesTotal : 0;
}

function checkpointRequests() {
  return performance.getEntriesByType("resource").filter((e) => e.name.startsWith(CKPT)).length;
}

async function device() {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error("this browser offers no WebGPU adapter");
  return {
    device: await adapter.requestDevice(),
    adapter: adapter.info?.description || adapter.info?.vendor || "WebGPU",
  };
}

function showTable(load) {
  const body = $("tensors").tBodies[0];
  body.replaceChildren();
  for (const t of load.tensors.values()) {
    const row = body.insertRow();
    row.dataset.name = t.name;
    for (
      const [text, num] of [[t.name], [t.dtype], [`[${t.shape.join(", ")}]`], [String(t.byteLength), true], [
        t.loadMs.toFixed(1),
        true,
      ]]
    ) {
      const cell = row.insertCell();
      cell.textContent = text;
      if (num) cell.className = "num";
    }
  }
}

/** y = W x on the GPU, reading the loaded weight buffer in place. */
async function gpuMatmul(dev, tensor, x) {
  const [rows, cols] = tensor.shape;
  const module = dev.createShaderModule({
    code: `
      @group(0) @binding(0) var<storage, read> w: array<f32>;
      @group(0) @binding(1) var<storage, read> x: array<f32>;
      @group(0) @binding(2) var<storage, read_write> y: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        let r = id.x;
        if (r >= ${rows}u) { return; }
        var acc = 0.0;
        for (var k = 0u; k < ${cols}u; k++) { acc = acc + w[r * ${cols}u + k] * x[k]; }
        y[r] = acc;
      }`,
  });
  const pipeline = dev.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const xs = dev.createBuffer({ size: x.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  dev.queue.writeBuffer(xs, 0, x);
  const ys = dev.createBuffer({ size: rows * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = dev.createBuffer({ size: rows * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: tensor.buffer } }, { binding: 1, resource: { buffer: xs } }, {
      binding: 2,
      resource: { buffer: ys },
    }],
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(rows / 64));
  pass.end();
  enc.copyBufferToBuffer(ys, 0, read, 0, rows * 4);
  dev.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const y = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [xs, ys, read]) b.destroy();
  return y;
}

/** The same product on the CPU from the stored bytes, in float32 as the shader computes it. */
async function cpuMatmul(x) {
  const source = await openTensorSource(new HttpStorage(CKPT), "");
  try {
    const t = await source.readTensor(WEIGHT);
    const w = new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
    const [rows, cols] = t.shape;
    return Float32Array.from({ length: rows }, (_, r) => {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc = Math.fround(acc + Math.fround(w[r * cols + k] * x[k]));
      return acc;
    });
  } finally {
    await source.close();
  }
}

async function run(fromCache) {
  const { device: dev, adapter } = await device();
  const before = checkpointRequests();
  $("status").textContent = fromCache ? "Loading from the OPFS cache..." : "Loading over HTTP...";
  const cache = fromCache ? await OpfsCache.open("webdcp-example") : undefined;
  const load = await loadToGpu(CKPT, {
    device: dev,
    cache,
    onProgress: setProgress,
    onPlan: (plan) => ($("plan").textContent = `plan: ${JSON.stringify(plan)}`),
  });
  const requests = checkpointRequests() - before;
  showTable(load);
  const x = Float32Array.from({ length: load.tensors.get(WEIGHT).shape[1] }, (_, i) => (i + 1) / 16 - 0.5);
  const gpu = await gpuMatmul(dev, load.tensors.get(WEIGHT), x);
  const cpu = fromCache ? state.cpu : await cpuMatmul(x);
  state.cpu = cpu;
  $("matmul-weight").textContent = WEIGHT;
  const body = $("matmul").tBodies[0];
  body.replaceChildren();
  let maxDiff = 0;
  gpu.forEach((g, r) => {
    maxDiff = Math.max(maxDiff, Math.abs(g - cpu[r]));
    const row = body.insertRow();
    for (const text of [String(r), g.toPrecision(9), cpu[r].toPrecision(9)]) row.insertCell().textContent = text;
  });
  $("matmul-result").textContent = `max |GPU - CPU| = ${maxDiff.toExponential(2)} over ${gpu.length} rows`;
  $("status").textContent = `Loaded ${load.tensors.size} tensors (${load.plan.sourceBytes} bytes) on ${adapter} in ` +
    `${load.stats.ms.toFixed(0)} ms with ${requests} HTTP request(s)${
      load.stats.fromCache ? " from the OPFS cache" : ""
    }.`;
  state.loads++;
  state.last = {
    fromCache: load.stats.fromCache,
    requests,
    tensors: load.tensors.size,
    gpu: [...gpu],
    cpu: [...cpu],
    maxDiff,
  };
  load.destroy();
  dev.destroy();
  $("cache").disabled = false;
}

async function cacheForOffline() {
  $("status").textContent = "Caching for offline use...";
  const report = await preload(CKPT, { cache: await OpfsCache.open("webdcp-example"), onProgress: setProgress });
  const checked = report.files.filter((f) => f.checkedAgainst === "server").length;
  $("status").textContent = `Cached ${report.files.length} files (${report.bytes} bytes, verified)` +
    (report.alreadyCached ? " (already cached)." : `; ${checked} SHA-256 digests announced by the server matched.`);
  state.cached = true;
  $("load-cached").disabled = false;
}

const guard = (fn) => () =>
  fn().catch((e) => {
    state.error = String(e?.message ?? e);
    $("status").textContent = `Error: ${state.error}`;
  });
$("load").onclick = guard(() => run(false));
$("cache").onclick = guard(cacheForOffline);
$("load-cached").onclick = guard(() => run(true));
