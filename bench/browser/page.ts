/**
 * The page side of the browser bench (bundled for the browser): each scenario moves the same file into a
 * GPU buffer and reports wall time; `bench/browser.bench.ts` drives it and measures the renderer's memory.
 */
import { loadToGpu, OpfsCache, preload } from "../../mod.ts";

const CACHE = "webdcp-bench-cache";

async function device(): Promise<{ device: GPUDevice; adapter: string }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const a = adapter.limits;
  const dev = await adapter.requestDevice({
    requiredLimits: { maxBufferSize: a.maxBufferSize, maxStorageBufferBindingSize: a.maxStorageBufferBindingSize },
  });
  const info = adapter.info;
  return {
    device: dev,
    adapter: [info?.vendor, info?.architecture, info?.description].filter((s) => s).join(" ") || "?",
  };
}

export interface Timed {
  ms: number;
  startedAt: number;
  endedAt: number;
  bytes: number;
  adapter: string;
  requests?: number;
}

async function timed(body: (dev: GPUDevice) => Promise<{ bytes: number; requests?: number }>): Promise<Timed> {
  const { device: dev, adapter } = await device();
  try {
    const startedAt = Date.now();
    const t0 = performance.now();
    const r = await body(dev);
    await dev.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    return { ms, startedAt, endedAt: Date.now(), adapter, ...r };
  } finally {
    dev.destroy();
  }
}

/** The baseline: the whole file with `fetch().arrayBuffer()`, then one `writeBuffer`. */
export function fetchWhole(url: string): Promise<Timed> {
  return timed(async (dev) => {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const buffer = dev.createBuffer({
      size: Math.ceil(bytes.byteLength / 4) * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE,
    });
    dev.queue.writeBuffer(buffer, 0, bytes, 0, bytes.byteLength & ~3);
    await dev.queue.onSubmittedWorkDone();
    buffer.destroy();
    return { bytes: bytes.byteLength };
  });
}

export function webdcp(url: string, dtype?: "bfloat16", cached = false): Promise<Timed> {
  return timed(async (dev) => {
    const cache = cached ? await OpfsCache.open(CACHE) : undefined;
    const load = await loadToGpu(url, { device: dev, dtype, cache });
    load.destroy();
    return { bytes: load.plan.sourceBytes, requests: load.plan.requests.headers + load.plan.requests.data };
  });
}

export async function cacheFile(url: string): Promise<number> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(CACHE, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  await preload(url, { cache: await OpfsCache.open(CACHE) });
  return performance.now() - t0;
}

/** The OPFS baseline: the cached file read whole (`File.arrayBuffer()`), then one `writeBuffer`. */
export function opfsWhole(url: string, file: string): Promise<Timed> {
  return timed(async (dev) => {
    const cache = await OpfsCache.open(CACHE);
    const dir = await cache.dataDirectory(OpfsCache.keyOf(url));
    const bytes = new Uint8Array(await (await (await dir.getFileHandle(file)).getFile()).arrayBuffer());
    const buffer = dev.createBuffer({
      size: Math.ceil(bytes.byteLength / 4) * 4,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE,
    });
    dev.queue.writeBuffer(buffer, 0, bytes, 0, bytes.byteLength & ~3);
    await dev.queue.onSubmittedWorkDone();
    buffer.destroy();
    return { bytes: bytes.byteLength };
  });
}

(globalThis as Record<string, unknown>).bench = { fetchWhole, webdcp, cacheFile, opfsWhole };
