/**
 * Issue #12: time to GPU in headless Chromium for a 384 MiB safetensors file, webdcp's `loadToGpu`
 * against a plain `fetch().arrayBuffer()` of the same bytes plus one `writeBuffer` (same server, same
 * page session), without and with a bfloat16 cast; from the OPFS cache against a raw OPFS read of the same
 * file; the page's JS heap (V8 heap plus ArrayBuffer backing stores, sampled through DevTools'
 * `Runtime.getHeapUsage` after a forced collection), Blink's own heap apart, and the renderer's resident
 * memory growth during each;
 * requests per load. Rounds run every scenario once in a shuffled order; every round's ratios and load
 * average are printed, medians are reported.
 *
 *   npx deno bundle --quiet --platform=node --external playwright-core -o .cache/browser.bench.mjs bench/browser.bench.ts
 *   node .cache/browser.bench.mjs [ROUNDS]
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";
import { FileStorage, MemoryStorage } from "../mod.ts";
import { writeDemoCheckpoint } from "../examples/browser/demo_checkpoint.ts";
import { bundlePage, CHROMIUM_ARGS } from "../test/browser/bundle_page.ts";
import { sampleRendererRss } from "../test/browser/renderer_memory.ts";
import { filesOf, startRangeServer } from "../test/storage/range_server.ts";
import type { Timed } from "./browser/page.ts";

const ROUNDS = Number(process.argv[2] ?? 3);
const DATA = "bench/data/browser";
const TENSORS = 24;
const ROWS = 1024, COLS = 4096; // 16 MiB of float32 each: 384 MiB in all

/** A 384 MiB safetensors file of finite float32 values, written once. */
function writeModel(path: string): void {
  if (existsSync(path)) return;
  const header: Record<string, unknown> = {};
  const each = ROWS * COLS * 4;
  for (let t = 0; t < TENSORS; t++) {
    header[`layers.${t}.weight`] = { dtype: "F32", shape: [ROWS, COLS], data_offsets: [t * each, (t + 1) * each] };
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(`${path}.partial`, "w");
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  writeSync(fd, len);
  writeSync(fd, new TextEncoder().encode(json));
  const values = new Float32Array(ROWS * COLS);
  for (let t = 0; t < TENSORS; t++) {
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i * 0.001 + t) * 0.05;
    writeSync(fd, new Uint8Array(values.buffer));
  }
  closeSync(fd);
  renameSync(`${path}.partial`, path);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function shuffle<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

mkdirSync(DATA, { recursive: true });
writeModel(`${DATA}/model.safetensors`);
if (!existsSync(`${DATA}/demo/ckpt/.metadata`)) await writeDemoCheckpoint(new FileStorage(DATA), "demo/ckpt");

const work = mkdtempSync(join(tmpdir(), "webdcp-browser-bench-"));
const site = new MemoryStorage();
await site.writeAll(
  "index.html",
  new TextEncoder().encode(
    `<!doctype html><meta charset="utf-8"><script type="module">import "./bench.js"; window.ready = true;</script>`,
  ),
);
await site.writeAll("bench.js", bundlePage("bench/browser/page.ts", work, "bench.js"));
const onSite = filesOf(site), onDisk = filesOf(new FileStorage(DATA));
const server = await startRangeServer((p) => (p.startsWith("data/") ? onDisk(p.slice(5)) : onSite(p)));
const context = await chromium.launchPersistentContext(join(work, "profile"), {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_ARGS,
});
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await page.goto(`${server.url}index.html`);
await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true);
const model = `${server.url}data/model.safetensors`;

const inPage = <T>(fn: string, ...args: unknown[]) =>
  page.evaluate(
    ([f, a]) =>
      (globalThis as unknown as { bench: Record<string, (...x: unknown[]) => Promise<unknown>> }).bench[f as string](
        ...(a as unknown[]),
      ),
    [fn, args] as const,
  ) as Promise<T>;

/**
 * Samples the page's JS heap through DevTools until stopped: V8's heap, the embedder's, and the backing
 * stores of ArrayBuffers (where fetched bytes and staging buffers live).
 */
function sampleJsHeap(): () => Promise<{ at: number; bytes: number; buffers: number; embedder: number }[]> {
  const samples: { at: number; bytes: number; buffers: number; embedder: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const h = await cdp.send("Runtime.getHeapUsage") as {
        usedSize: number;
        embedderHeapUsedSize?: number;
        backingStorageSize?: number;
      };
      const buffers = h.backingStorageSize ?? 0;
      const embedder = h.embedderHeapUsedSize ?? 0;
      samples.push({ at: Date.now(), bytes: h.usedSize + buffers, buffers, embedder });
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return samples;
  };
}

type Measured = Timed & {
  rssGrowth: number;
  heapPeak: number;
  heapBefore: number;
  /** ArrayBuffer backing stores at the JS heap's peak sample. */
  peakBuffers: number;
  /** Blink's own (embedder) heap at its highest sample: DOM and stream internals, not reachable from JS. */
  peakBlink: number;
};

/** Runs a scenario while sampling the renderer's resident memory and the page's JS heap. */
async function measured(fn: string, ...args: unknown[]): Promise<Measured> {
  await cdp.send("HeapProfiler.collectGarbage");
  const stopHeap = sampleJsHeap();
  const stop = sampleRendererRss(join(work, "profile"));
  // One run of five stalled on a busy machine with the page idle; say which scenario if it happens again.
  const watchdog = setTimeout(() => console.log(`still waiting for ${fn}(${args.slice(1).join(", ")})`), 120_000);
  const t = await inPage<Timed>(fn, ...args).finally(() => clearTimeout(watchdog));
  const samples = stop();
  const heap = (await stopHeap()).filter((s) => s.at <= t.endedAt);
  const before = samples.filter((s) => s.at <= t.startedAt).at(-1) ?? samples[0];
  const peak = Math.max(...samples.filter((s) => s.at <= t.endedAt).map((s) => s.rss));
  const heapBefore = (heap.filter((s) => s.at <= t.startedAt).at(-1) ?? heap[0]).bytes;
  const top = heap.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const heapPeak = top.bytes;
  const blinkPeak = Math.max(...heap.map((s) => s.embedder));
  console.log(
    `${fn}(${args.slice(1).join(", ")}): ${(t.ms / 1000).toFixed(2)} s, RSS +${
      ((peak - before.rss) / 2 ** 20).toFixed(0)
    } MiB, JS heap peak ${(heapPeak / 2 ** 20).toFixed(0)} MiB (ArrayBuffers ${
      (top.buffers / 2 ** 20).toFixed(0)
    }), Blink heap peak ${(blinkPeak / 2 ** 20).toFixed(0)} MiB (${
      (heapBefore / 2 ** 20).toFixed(0)
    } MiB before), ${heap.length} samples`,
  );
  return {
    ...t,
    rssGrowth: peak - before.rss,
    heapPeak,
    heapBefore,
    peakBuffers: top.buffers,
    peakBlink: blinkPeak,
  };
}

const preloadMs = await inPage<number>("cacheFile", model);
console.log(`preload: ${(preloadMs / 1000).toFixed(2)} s`);
const scenarios: Record<string, () => Promise<Measured>> = {
  "fetch().arrayBuffer() + writeBuffer": () => measured("fetchWhole", model),
  "loadToGpu": () => measured("webdcp", model),
  "loadToGpu, bfloat16 cast": () => measured("webdcp", model, "bfloat16"),
  "OPFS File.arrayBuffer() + writeBuffer": () => measured("opfsWhole", model, "model.safetensors"),
  "loadToGpu from the OPFS cache": () => measured("webdcp", model, undefined, true),
};
// Warm-up: the first large transfers grow a cold renderer by garbage it collects only later.
await scenarios["fetch().arrayBuffer() + writeBuffer"]();
await scenarios["loadToGpu"]();
const results: Record<string, Measured[]> = {};
const rounds: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const round: Record<string, Measured> = {};
  for (const name of shuffle(Object.keys(scenarios))) {
    round[name] = await scenarios[name]();
    (results[name] ??= []).push(round[name]);
  }
  const ratio = (name: string, base: string) => (round[base].ms / round[name].ms).toFixed(2);
  rounds.push(
    `round ${r + 1} (load average ${loadavg()[0].toFixed(1)}): loadToGpu ${
      ratio("loadToGpu", "fetch().arrayBuffer() + writeBuffer")
    }x, bfloat16 cast ${ratio("loadToGpu, bfloat16 cast", "fetch().arrayBuffer() + writeBuffer")}x, from the cache ${
      ratio("loadToGpu from the OPFS cache", "OPFS File.arrayBuffer() + writeBuffer")
    }x`,
  );
  console.log(rounds.at(-1));
}
server.requests.length = 0;
const demo = await inPage<Timed>("webdcp", `${server.url}data/demo/ckpt/`);
const demoRequests = server.requests.length;
const demoFiles = 1 + 4;
await context.close();
await server.close();
rmSync(work, { recursive: true, force: true });

const adapter = results["loadToGpu"][0].adapter;
const ms = (name: string) => median(results[name].map((x) => x.ms));
const rss = (name: string) => median(results[name].map((x) => x.rssGrowth));
const heapTop = (name: string) => results[name].reduce((a, b) => (b.heapPeak > a.heapPeak ? b : a));
const heapBefore = (name: string) => Math.min(...results[name].map((x) => x.heapBefore));
const bytes = results["loadToGpu"][0].bytes;
const mib = (n: number) => (n / 2 ** 20).toFixed(0);
const row = (name: string, baseline: string) => {
  const speed = ms(baseline) / ms(name);
  return `| ${name} | ${(ms(name) / 1000).toFixed(2)} s (${(bytes / ms(name) / 1e6).toFixed(2)} GB/s) | ${
    speed.toFixed(2)
  }x of "${baseline}" | ${mib(heapTop(name).heapPeak)} MiB (ArrayBuffers ${mib(heapTop(name).peakBuffers)}; ${
    mib(heapBefore(name))
  } MiB before) | ${mib(Math.max(...results[name].map((x) => x.peakBlink)))} MiB | ${mib(rss(name))} MiB |`;
};
const lines = [
  "",
  `## browser time to GPU (${
    new Date().toISOString().slice(0, 16).replace("T", " ")
  } UTC, median of ${ROUNDS} shuffled rounds)`,
  "",
  `Headless Chromium (${CHROMIUM_ARGS.join(" ")}), adapter: ${adapter}: a software adapter, indicative only. ` +
  `File: ${
    (bytes / 2 ** 20).toFixed(0)
  } MiB safetensors (${TENSORS} float32 tensors) from a node:http Range server on 127.0.0.1. ` +
  `JS heap: the highest of V8's heap + ArrayBuffer backing stores (what the page's JavaScript can hold; ` +
  "DevTools `Runtime.getHeapUsage`, sampled every ~10 ms, after a forced collection) during the load, over " +
  "all rounds, with the ArrayBuffers part of that sample (garbage not yet collected included). Blink heap: " +
  "the highest of Blink's own (embedder) heap, apart: DOM, fetch and stream internals, not reachable from " +
  "JavaScript, collected on Blink's own schedule. " +
  `RSS: median growth of the renderer processes' resident set during the load (after a warm-up fetch and load). ` +
  `Machine: 2 cores shared with other jobs, load average ${loadavg()[0].toFixed(1)} at the end.`,
  "",
  "`npx deno bundle --quiet --platform=node --external playwright-core -o .cache/browser.bench.mjs bench/browser.bench.ts && node .cache/browser.bench.mjs`",
  "",
  "| scenario | time to GPU | speed | peak JS heap | peak Blink heap | renderer RSS growth |",
  "| --- | --- | --- | --- | --- | --- |",
  row("fetch().arrayBuffer() + writeBuffer", "fetch().arrayBuffer() + writeBuffer"),
  row("loadToGpu", "fetch().arrayBuffer() + writeBuffer"),
  row("loadToGpu, bfloat16 cast", "fetch().arrayBuffer() + writeBuffer"),
  row("OPFS File.arrayBuffer() + writeBuffer", "OPFS File.arrayBuffer() + writeBuffer"),
  row("loadToGpu from the OPFS cache", "OPFS File.arrayBuffer() + writeBuffer"),
  "",
  "",
  ...rounds.map((r) => `- ${r}`),
  "",
  `preload into OPFS (verified, committed): ${(preloadMs / 1000).toFixed(2)} s. Requests per load of the ${
    (bytes / 2 ** 20).toFixed(0)
  } MiB file: ${results["loadToGpu"][0].requests}; of the example's 4-rank DCP (${demoFiles} files): ${demoRequests} ` +
  `(webdcp counted ${demo.requests}).`,
];
console.log(lines.join("\n"));
appendFileSync("bench/RESULTS.md", lines.join("\n") + "\n");
