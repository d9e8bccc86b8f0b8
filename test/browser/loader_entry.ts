/**
 * The page side of the browser loader proof (bundled with `deno bundle --platform browser`): each step is
 * a function the Node test calls through `page.evaluate`, so the test can stop the server, kill a worker
 * or shrink the quota between steps. Every result is a JSON summary (SHA-256 of read-back GPU bytes) that
 * Node compares with what it computes from the files torch wrote.
 */
import {
  createEngine,
  type GpuLoad,
  loadToGpu,
  type LoadToGpuOptions,
  OpfsCache,
  preload,
  type PreloadPlan,
  type PreloadReport,
} from "../../mod.ts";
import { whenUnlocked } from "../../src/cache/cache_file.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";
import { watchedDevice } from "../engine/watched_device.ts";
import { sha256Hex } from "./fixtures.ts";

export interface ErrorSummary {
  name: string;
  code?: string;
  message: string;
}
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorSummary };

async function outcome<T>(body: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    const err = e as Error & { code?: string };
    return { ok: false, error: { name: err?.name ?? "Error", code: err?.code, message: err?.message ?? String(e) } };
  }
}

export interface LoadedSummary {
  tensors: { name: string; dtype: string; shape: number[]; parts: number[][]; sha256: string }[];
  plan: GpuLoad["plan"];
  stats: GpuLoad["stats"];
  adapter: string;
  /** Wall-clock (Date.now) bounds of the loadToGpu call, before the read-back. */
  loadStartedAt: number;
  loadEndedAt: number;
}

const CACHE_FOLDER = "webdcp-test-cache";

/** A device with WebGPU's default limits (128 MiB bindings), as most pages get. */
async function defaultDevice(): Promise<{ device: GPUDevice; adapter: string }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  return { device: await adapter.requestDevice(), adapter: adapter.info?.description || adapter.info?.vendor || "?" };
}

async function summarize(load: GpuLoad, adapter: string, loadStartedAt: number): Promise<LoadedSummary> {
  const loadEndedAt = Date.now();
  const tensors = [];
  for (const t of load.tensors.values()) {
    const parts = [];
    const bytes = new Uint8Array(t.byteLength);
    for (const p of t.parts) {
      bytes.set(await readGpuBuffer(load.device, p.buffer, p.byteLength), p.byteOffset);
      parts.push([p.firstRow, p.rows, p.buffer.size]);
    }
    tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, parts, sha256: await sha256Hex(bytes) });
  }
  load.destroy();
  const sorted = tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { tensors: sorted, plan: load.plan, stats: load.stats, adapter, loadStartedAt, loadEndedAt };
}

type LoadOpts = Pick<LoadToGpuOptions, "dtype" | "include" | "exclude" | "stagingBytes" | "inFlight"> & {
  cache?: boolean;
  /** Load as a page that only asks for createEngine({ kind: "auto" }) and passes no device. */
  autoEngine?: boolean;
};

export function load(url: string, opts: LoadOpts = {}): Promise<Outcome<LoadedSummary & { engineKind?: string }>> {
  return outcome(async () => {
    if (opts.autoEngine) {
      const engine = await createEngine({ kind: "auto" });
      const started = Date.now();
      const loaded = await loadToGpu(url, { dtype: opts.dtype, engine });
      const device = loaded.device;
      try {
        return { ...await summarize(loaded, engine.adapterName ?? "none", started), engineKind: engine.kind };
      } finally {
        device.destroy();
      }
    }
    const { device, adapter } = await defaultDevice();
    const cache = opts.cache ? await OpfsCache.open(CACHE_FOLDER) : undefined;
    try {
      const started = Date.now();
      return await summarize(await loadToGpu(url, { ...opts, device, cache }), adapter, started);
    } finally {
      device.destroy();
    }
  });
}

export function preloadHere(url: string, opts: { blockBytes?: number; sha256?: Record<string, string> } = {}) {
  return outcome(async () => {
    let plan: PreloadPlan | undefined;
    const report = await preload(url, {
      cache: await OpfsCache.open(CACHE_FOLDER),
      ...opts,
      onPlan: (p) => void (plan = p),
    });
    return { ...report, plan };
  });
}

/**
 * Starts a main-thread preload and returns at once; once `freezeAt` of the bytes is stored, every later
 * request hangs, so the preload stands still mid-file (`window.preloadFrozen` says where) until the test
 * closes the page: a tab killed halfway, with its writable never closed.
 */
export function startFrozenPreload(url: string, opts: { blockBytes: number; freezeAt: number }) {
  return outcome(async () => {
    let frozen = false;
    const held: typeof fetch = (input, init) => frozen ? new Promise(() => {}) : fetch(input, init);
    void preload(url, {
      cache: await OpfsCache.open(CACHE_FOLDER),
      blockBytes: opts.blockBytes,
      http: { fetch: held },
      onProgress: (p) => {
        if (!frozen && p.bytesDone >= opts.freezeAt * p.bytesTotal) {
          frozen = true;
          (window as unknown as { preloadFrozen: number }).preloadFrozen = p.bytesDone;
        }
      },
    }).catch(() => {});
    return true;
  });
}

/**
 * Preloads in a dedicated Worker (sync access handles); with `killAt`, terminates the worker once that
 * fraction of the bytes is stored, as a closed tab would.
 */
export function preloadInWorker(
  url: string,
  opts: { blockBytes?: number; killAt?: number } = {},
): Promise<Outcome<{ report?: PreloadReport; killedAtBytes?: number }>> {
  return outcome(() =>
    new Promise((resolve, reject) => {
      const worker = new Worker("cache_worker.js", { type: "module" });
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      worker.onmessage = (e: MessageEvent) => {
        const m = e.data as {
          progress?: { bytesDone: number; bytesTotal: number };
          report?: PreloadReport;
          error?: ErrorSummary;
        };
        if (m.progress && opts.killAt !== undefined && m.progress.bytesDone >= opts.killAt * m.progress.bytesTotal) {
          worker.terminate();
          resolve({ killedAtBytes: m.progress.bytesDone });
        } else if (m.report) {
          worker.terminate();
          resolve({ report: m.report });
        } else if (m.error) {
          worker.terminate();
          reject(Object.assign(new Error(m.error.message), m.error));
        }
      };
      worker.postMessage({ url, folder: CACHE_FOLDER, blockBytes: opts.blockBytes });
    })
  );
}

/**
 * Preloads with the quota cut (by the test, through DevTools) once the plan is made, so that the quota runs
 * out while files are written: the File System API's own QuotaExceededError, not the plan's estimate.
 */
export function preloadWhileQuotaDrops(url: string) {
  return outcome(async () => {
    const drop = (globalThis as unknown as { dropQuota: () => Promise<void> }).dropQuota;
    return await preload(url, { cache: await OpfsCache.open(CACHE_FOLDER), onPlan: () => drop() });
  });
}

/** Aborts a main-thread preload at its first stored block; reports how the promise ended. */
export function abortedPreload(url: string) {
  return outcome(async () => {
    const controller = new AbortController();
    return await preload(url, {
      cache: await OpfsCache.open(CACHE_FOLDER),
      blockBytes: 4096,
      signal: controller.signal,
      onProgress: (p) => p.bytesDone > 0 && controller.abort(new DOMException("tab closing", "AbortError")),
    }).then(() => "resolved", (e: Error) => `${e.name}: ${e.message}`);
  });
}

export function verifyCached(url: string) {
  return outcome(async () => (await (await OpfsCache.open(CACHE_FOLDER)).verify(url)).files.length);
}

export function cachedEntries() {
  return outcome(async () =>
    (await (await OpfsCache.open(CACHE_FOLDER)).list()).map((r) => ({
      path: r.path,
      origin: r.origin,
      files: r.files.length,
    }))
  );
}

/** Flips one byte of a cached file in place (a disk error, or someone editing OPFS). */
export function corruptCached(url: string, file: string, offset: number) {
  return outcome(async () => {
    const cache = await OpfsCache.open(CACHE_FOLDER);
    let dir = await cache.dataDirectory(OpfsCache.keyOf(url));
    const segments = file.split("/");
    for (const s of segments.slice(0, -1)) dir = await dir.getDirectoryHandle(s);
    const handle = await dir.getFileHandle(segments[segments.length - 1]);
    const old = new Uint8Array(await (await handle.getFile()).slice(offset, offset + 1).arrayBuffer());
    const w = await whenUnlocked(() => handle.createWritable({ keepExistingData: true }));
    await w.write({ type: "write", position: offset, data: new Uint8Array([old[0] ^ 0x40]) });
    await w.close();
    return old[0];
  });
}

export function clearCache() {
  return outcome(async () => {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry(CACHE_FOLDER, { recursive: true }).catch(() => {});
    return true;
  });
}

/**
 * Aborts a load at its first progress report: the promise must reject with the abort reason, and every
 * buffer the load created must be destroyed (using one is then a validation error).
 */
export function abortedLoad(url: string) {
  return outcome(async () => {
    const { device } = await defaultDevice();
    const { device: watched, created } = watchedDevice(device);
    const controller = new AbortController();
    const result = await loadToGpu(url, {
      device: watched,
      stagingBytes: 256,
      inFlight: 1,
      signal: controller.signal,
      onProgress: () => controller.abort(new DOMException("navigated away", "AbortError")),
    }).then(() => "resolved", (e: Error) => `${e.name}: ${e.message}`);
    let destroyed = 0;
    for (const b of created) {
      device.pushErrorScope("validation");
      device.queue.writeBuffer(b, 0, new Uint8Array(4));
      if (await device.popErrorScope()) destroyed++;
    }
    device.destroy();
    return { result, created: created.length, destroyed };
  });
}

declare global {
  interface Window {
    webdcpLoader: Record<string, unknown>;
  }
}
window.webdcpLoader = {
  load,
  preloadHere,
  startFrozenPreload,
  preloadWhileQuotaDrops,
  abortedPreload,
  preloadInWorker,
  verifyCached,
  cachedEntries,
  corruptCached,
  clearCache,
  abortedLoad,
};
