/**
 * The browser loader and its OPFS cache in real headless Chromium (Debian's chromium via playwright-core,
 * SwiftShader WebGPU). Checkpoints written by real torch (4-process gloo DCP saves in two shardings, a
 * torch.save file, a safetensors HF folder) are served cross-origin from 127.0.0.1 by a Range + CORS
 * server this test starts; the page loads them into GPU buffers, reads them back and reports SHA-256
 * digests, which are compared with digests of torch's bytes computed here.
 */
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type DType, engine, FileStorage, MemoryStorage } from "../../mod.ts";
import { bundlePage, CHROMIUM_ARGS } from "../browser/bundle_page.ts";
import { sampleRendererRss } from "../browser/renderer_memory.ts";
import type { LoadedSummary, Outcome } from "../browser/loader_entry.ts";
import { filesOf, type RangeServer, type ServedFile, startRangeServer } from "../storage/range_server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const run = promisify(execFile);

const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>webdcp loader</title>
<script type="module">import "./bundle.js"; window.bundleLoaded = true;</script>`;

type Expected = Record<string, { dtype: DType; shape: number[]; hex: string }>;

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** What the page must report for a checkpoint: name, dtype, shape, SHA-256 of the (cast) bytes. */
function expectedSummary(expected: Expected, prefix = "", cast?: DType) {
  return Object.entries(expected).map(([name, e]) => {
    const bytes = new Uint8Array(Buffer.from(e.hex, "hex"));
    const floating = ["float32", "float16", "bfloat16", "float64"].includes(e.dtype);
    const to = cast && floating ? cast : e.dtype;
    return {
      name: prefix + name,
      dtype: to,
      shape: e.shape,
      sha256: sha(to === e.dtype ? bytes : engine.convertCpu(bytes, e.dtype, to)),
    };
  }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function value<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`page step failed: ${o.error.name} ${o.error.code ?? ""}: ${o.error.message}`);
  return o.value;
}

/** A safetensors file made up on the fly (never stored): one f32 tensor of `rows` x 16384, bytes from the offset. */
function bigSafetensors(rows: number): { file: ServedFile; dataSha256: string } {
  const cols = 16384;
  const dataBytes = rows * cols * 4;
  let header = JSON.stringify({ big: { dtype: "F32", shape: [rows, cols], data_offsets: [0, dataBytes] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const head = new Uint8Array(8 + header.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
  head.set(new TextEncoder().encode(header), 8);
  const byteAt = (i: number) => (Math.imul(i, 2654435761) >>> 13) & 0xff;
  const bytes = (offset: number, length: number) => {
    const out = new Uint8Array(length);
    for (let k = 0; k < length; k++) {
      const at = offset + k;
      out[k] = at < head.byteLength ? head[at] : byteAt(at - head.byteLength);
    }
    return Promise.resolve(out);
  };
  const hash = createHash("sha256");
  const piece = new Uint8Array(1 << 20);
  for (let done = 0; done < dataBytes; done += piece.byteLength) {
    const n = Math.min(piece.byteLength, dataBytes - done);
    for (let k = 0; k < n; k++) piece[k] = byteAt(done + k);
    hash.update(piece.subarray(0, n));
  }
  return { file: { size: head.byteLength + dataBytes, bytes }, dataSha256: hash.digest("hex") };
}

describe.skipIf(process.env.WEBDCP_ALLOW_NO_GPU === "1" && !existsSync(CHROMIUM))(
  "the browser loader in headless Chromium",
  () => {
    let work: string;
    let pages: RangeServer; // the page's own origin
    let data: RangeServer; // checkpoints, cross-origin, CORS exposing Content-Range
    let hidden: RangeServer; // the same, without Access-Control-Expose-Headers
    let noCors: RangeServer; // the same, without any CORS header
    let cacheSource: RangeServer; // what the cache tests copy from; stopped before loading from the cache
    let digests: RangeServer; // announces each file's SHA-256 (a wrong one under wrong/)
    let context: BrowserContext;
    let page: Page;
    let big: { file: ServedFile; dataSha256: string };
    let mid: { file: ServedFile; dataSha256: string };
    const expected: Record<string, Expected> = {};

    const call = async <T>(fn: string, ...args: unknown[]): Promise<Outcome<T>> =>
      await page.evaluate(
        ([f, a]) =>
          (window as unknown as { webdcpLoader: Record<string, (...x: unknown[]) => Promise<unknown>> }).webdcpLoader
            [f as string](...(a as unknown[])),
        [fn, args] as const,
      ) as Outcome<T>;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "webdcp-browser-loader-"));
      const ckpts = join(work, "ckpts");
      await run(inject("python"), ["test/loader/py/make_browser_checkpoints.py", ckpts], {
        timeout: 400_000,
        env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONWARNINGS: "ignore" },
      });
      for (
        const [key, file] of [["dcp1d", "dcp1d/expected.json"], ["dcp2d", "dcp2d/expected.json"], [
          "pt",
          "expected_pt.json",
        ], ["hf", "expected_hf.json"]]
      ) {
        expected[key] = JSON.parse(readFileSync(join(ckpts, file), "utf8")) as Expected;
      }
      const site = new MemoryStorage();
      await site.writeAll("index.html", new TextEncoder().encode(INDEX_HTML));
      await site.writeAll("bundle.js", bundlePage("test/browser/loader_entry.ts", work));
      await site.writeAll("cache_worker.js", bundlePage("test/browser/cache_worker.ts", work, "cache_worker.js"));
      pages = await startRangeServer(filesOf(site));
      big = bigSafetensors(2064); // 2064 rows of 64 KiB: 129 MiB, above the default 128 MiB binding limit
      const disk = filesOf(new FileStorage(ckpts));
      mid = bigSafetensors(32); // 2 MiB: a file of many blocks for the main-thread resume
      const withBig = (path: string) =>
        path === "big/model.safetensors"
          ? Promise.resolve(big.file)
          : path === "mid/model.safetensors"
          ? Promise.resolve(mid.file)
          : disk(path);
      data = await startRangeServer(withBig, { cors: "expose" });
      hidden = await startRangeServer(disk, { cors: "hidden" });
      noCors = await startRangeServer(disk);
      cacheSource = await startRangeServer(disk, { cors: "expose" });
      digests = await startRangeServer(async (path) => {
        const wrong = path.startsWith("wrong/");
        const file = await disk(wrong ? path.slice("wrong/".length) : path);
        if (file === undefined) return undefined;
        const sha = createHash("sha256").update(readFileSync(join(ckpts, wrong ? path.slice(6) : path)));
        const headers: Record<string, string> = wrong
          ? { "x-linked-etag": `"${"0".repeat(64)}"` }
          : { "repr-digest": `sha-256=:${sha.digest("base64")}:` };
        return { ...file, headers };
      }, { cors: "expose" });
      context = await chromium.launchPersistentContext(join(work, "profile"), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      page = await context.newPage();
      await page.goto(`${pages.url}index.html`);
      await page.waitForFunction(() => (window as { bundleLoaded?: boolean }).bundleLoaded === true, undefined, {
        timeout: 20_000,
      });
      value(await call("clearCache"));
    }, 600_000);

    afterAll(async () => {
      await context?.close();
      for (const s of [pages, data, hidden, noCors, cacheSource, digests]) await s?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const summaryOf = (s: LoadedSummary) =>
      s.tensors.map(({ name, dtype, shape, sha256 }) => ({ name, dtype, shape, sha256 }));

    it("loads a 4-rank torch DCP (Shard(0)) bit-exactly with one request per file: .metadata, then each rank file once", async () => {
      const files = readdirSync(join(work, "ckpts", "dcp1d", "ckpt")).sort();
      expect(files).toEqual([".metadata", "__0_0.distcp", "__1_0.distcp", "__2_0.distcp", "__3_0.distcp"]);
      data.requests.length = 0;
      const got = value(await call<LoadedSummary>("load", `${data.url}dcp1d/ckpt/`));
      expect(summaryOf(got)).toEqual(expectedSummary(expected.dcp1d));
      expect(data.requests.map((r) => r.path).sort()).toEqual(files.map((f) => `dcp1d/ckpt/${f}`));
      expect(got.plan.requests.headers + got.plan.requests.data).toBe(files.length);
      expect(got.plan).toMatchObject({ format: "dcp", fitsDevice: true });
    });

    it("loads a 2 x 2 mesh (Shard(0), Shard(1)) torch DCP bit-exactly, cast to bfloat16 on request", async () => {
      const got = value(await call<LoadedSummary>("load", `${data.url}dcp2d/ckpt/`, { dtype: "bfloat16" }));
      expect(summaryOf(got)).toEqual(expectedSummary(expected.dcp2d, "", "bfloat16"));
    });

    it("createEngine({ kind: 'auto' }) with no device works where the only adapter is a software one (SwiftShader)", async () => {
      const got = value(
        await call<LoadedSummary & { engineKind: string }>("load", `${data.url}dcp1d/ckpt/`, {
          autoEngine: true,
          dtype: "bfloat16",
        }),
      );
      expect(got.engineKind).toBe("cpu");
      expect(got.stats.castOn).toBe("cpu");
      expect(summaryOf(got)).toEqual(expectedSummary(expected.dcp1d, "", "bfloat16"));
    });

    it("loads a torch.save file and a two-shard HF folder bit-exactly", async () => {
      const pt = value(await call<LoadedSummary>("load", `${data.url}model.pt`));
      expect(summaryOf(pt)).toEqual(expectedSummary(expected.pt));
      expect(pt.plan.format).toBe("torch");
      const hf = value(await call<LoadedSummary>("load", `${data.url}hf/`, { stagingBytes: 512 }));
      expect(summaryOf(hf)).toEqual(expectedSummary(expected.hf));
      expect(hf.plan.format).toBe("hf");
    });

    it(
      "splits a 129 MiB tensor, above the device's default 128 MiB binding limit, into row-aligned parts",
      async () => {
        const url = `${data.url}big/model.safetensors`;
        const rssGrowth = async () => {
          const stop = sampleRendererRss(join(work, "profile"));
          const got = value(await call<LoadedSummary>("load", url));
          const samples = stop();
          const during = samples.filter((x) => x.at <= got.loadEndedAt);
          const before = samples.filter((x) => x.at <= got.loadStartedAt).at(-1) ?? samples[0];
          // A few samples at least fall inside the load (reading /proc takes a while on a busy machine).
          expect(during.length).toBeGreaterThan(3);
          return { got, growth: Math.max(...during.map((x) => x.rss)) - before.rss };
        };
        // A cold renderer's resident memory grows with the download until its first full collection (seen
        // the same with the loader's uploads disabled: Chromium's fetch, not memory the load holds); the
        // second load shows what a load keeps.
        const cold = await rssGrowth();
        const { got, growth } = await rssGrowth();
        console.log(
          `renderer RSS growth while loading 129 MiB: ${(cold.growth / 2 ** 20).toFixed(1)} MiB cold, ` +
            `${(growth / 2 ** 20).toFixed(1)} MiB warm; pipeline buffers ${
              (got.stats.peakHostBytes / 2 ** 20).toFixed(1)
            } MiB`,
        );
        expect(growth).toBeLessThan(64 << 20);
        const t = got.tensors[0];
        expect(t.parts.map(([first, rows]) => [first, rows])).toEqual([[0, 2048], [2048, 16]]);
        expect(t.sha256).toBe(big.dataSha256);
        expect(got.plan.split).toEqual([{ name: "big", parts: 2, rowsPerPart: 2048 }]);
        expect(got.plan.maxPartBytes).toBe(128 << 20);
        // Host memory stays near the staging budget (4 x 4 MiB) while 129 MiB move: the pipeline's own buffers
        // (above, the renderer's resident memory measured from outside while the load ran, before the read-back).
        expect(got.stats.peakHostBytes).toBeLessThanOrEqual(got.plan.hostBytes);
        expect(got.plan.hostBytes).toBeLessThan(40 << 20);
      },
      300_000,
    );

    it("a cross-origin server that does not expose Content-Range gets a message naming the missing header", async () => {
      const got = await call("load", `${hidden.url}model.pt`);
      expect(got.ok).toBe(false);
      expect(!got.ok && got.error).toMatchObject({
        code: "E_UNSUPPORTED",
        message: expect.stringContaining("Access-Control-Expose-Headers: Content-Range"),
      });
    });

    it("a cross-origin server without CORS, and a folder holding no checkpoint, get messages that say so", async () => {
      const blocked = await call("load", `${noCors.url}model.pt`);
      expect(!blocked.ok && blocked.error).toMatchObject({
        code: "E_IO",
        message: expect.stringContaining("cross-origin server that does not send 'Access-Control-Allow-Origin'"),
      });
      data.requests.length = 0;
      const nothing = await call("load", `${data.url}nothing/`);
      expect(!nothing.ok && nothing.error).toMatchObject({
        code: "E_NOT_FOUND",
        message: expect.stringContaining("'.metadata', 'model.safetensors.index.json', 'model.safetensors' not found"),
      });
      expect(data.requests.map((r) => r.path)).toEqual([
        "nothing/.metadata",
        "nothing/model.safetensors.index.json",
        "nothing/model.safetensors",
      ]);
    });

    it("an aborted load rejects with the abort reason and destroys every buffer it created", async () => {
      const got = value(
        await call<{ result: string; created: number; destroyed: number }>("abortedLoad", `${data.url}model.pt`),
      );
      expect(got.result).toBe("AbortError: navigated away");
      expect(got.created).toBe(7);
      expect(got.destroyed).toBe(got.created);
    });

    describe("the OPFS cache", () => {
      const ptUrl = () => `${cacheSource.url}model.pt`;
      const dcpUrl = () => `${cacheSource.url}dcp1d/ckpt/`;

      it("preload in a Worker killed halfway resumes from its checked blocks, verifies and commits", async () => {
        const block = 16 << 10;
        const size = readFileSync(join(work, "ckpts", "model.pt")).byteLength;
        const killed = value(
          await call<{ killedAtBytes?: number }>("preloadInWorker", ptUrl(), { blockBytes: block, killAt: 0.5 }),
        );
        expect(killed.killedAtBytes).toBeGreaterThan(0);
        expect(value(await call<unknown[]>("cachedEntries"))).toEqual([]); // nothing visible before the commit
        cacheSource.requests.length = 0;
        const done = value(
          await call<
            { report: { resumedBytes: number; downloadedBytes: number; bytes: number; resumeGranularity: string } }
          >(
            "preloadInWorker",
            ptUrl(),
            { blockBytes: block },
          ),
        ).report;
        expect(done.resumeGranularity).toBe("block");
        expect(done.resumedBytes).toBeGreaterThanOrEqual(killed.killedAtBytes! - block);
        expect(done.resumedBytes).toBeLessThan(size);
        expect(done.resumedBytes + done.downloadedBytes).toBe(done.bytes);
        const asked = cacheSource.requests.filter((r) => r.path === "model.pt" && r.range)
          .map((r) => Number(/bytes=(\d+)-/.exec(r.range!)![1]));
        // Besides the probe (offset 0) and the archive's end (its directory), no resumed byte is fetched again,
        // and the blocks left are fetched one request each.
        expect(asked.filter((o) => o !== 0 && o < done.resumedBytes && o < size - block)).toEqual([]);
        expect(asked.filter((o) => o >= done.resumedBytes && o < size - block).length).toBeGreaterThan(3);
      });

      it("a resumed preload re-fetches a stored block whose bytes no longer match the journal", async () => {
        const url = `${cacheSource.url}hf/`;
        const killed = value(
          await call<{ killedAtBytes?: number }>("preloadInWorker", url, { blockBytes: 4096, killAt: 0.6 }),
        );
        expect(killed.killedAtBytes).toBeGreaterThan(8192);
        // Damage the first stored block of the first shard: resuming must keep nothing of that file.
        value(await call("corruptCached", url, "model-00001-of-00002.safetensors", 10));
        const done = value(
          await call<{ report: { resumedBytes: number; downloadedBytes: number; bytes: number } }>(
            "preloadInWorker",
            url,
            { blockBytes: 4096 },
          ),
        ).report;
        expect(done.resumedBytes + done.downloadedBytes).toBe(done.bytes);
        const first = readFileSync(join(work, "ckpts", "hf", "model-00001-of-00002.safetensors")).byteLength;
        expect(done.downloadedBytes).toBeGreaterThanOrEqual(first);
        expect(value(await call<number>("verifyCached", url))).toBe(3);
        const got = value(await call<LoadedSummary>("load", url, { cache: true }));
        expect(got.stats.fromCache).toBe(true);
        expect(summaryOf(got)).toEqual(expectedSummary(expected.hf));
      });

      it("a manifest's SHA-256 is checked: a wrong digest fails with E_CHECKSUM and commits nothing", async () => {
        const url = `${cacheSource.url}dcp2d/ckpt/`;
        const wrong = await call("preloadHere", url, { sha256: { "__1_0.distcp": "0".repeat(64) } });
        expect(!wrong.ok && wrong.error).toMatchObject({
          code: "E_CHECKSUM",
          message: expect.stringContaining("__1_0.distcp"),
        });
        const right = createHash("sha256").update(readFileSync(join(work, "ckpts", "dcp2d", "ckpt", "__1_0.distcp")))
          .digest("hex");
        const ok = value(
          await call<
            {
              plan: { files: unknown[]; fitsQuota: boolean; requests: number };
              files: { path: string; sha256: string }[];
            }
          >(
            "preloadHere",
            url,
            { sha256: { "__1_0.distcp": right } },
          ),
        );
        expect(ok.files.find((f) => f.path === "__1_0.distcp")?.sha256).toBe(right);
        expect(ok.plan.fitsQuota).toBe(true);
        expect(ok.plan.requests).toBeLessThanOrEqual(5); // at most one block request per file: items came with the headers
        expect(ok.plan.files).toHaveLength(5);
      });

      it("preload on the main thread copies a 4-rank DCP (span-level resume there)", async () => {
        const report = value(
          await call<{ resumeGranularity: string; files: { path: string }[] }>("preloadHere", dcpUrl()),
        );
        expect(report.resumeGranularity).toBe("span");
        expect(report.files.map((f) => f.path).sort()).toEqual([
          ".metadata",
          "__0_0.distcp",
          "__1_0.distcp",
          "__2_0.distcp",
          "__3_0.distcp",
        ]);
      });

      it("loads from the cache with the server stopped, bit-exactly, making no request", async () => {
        await cacheSource.close();
        const pt = value(await call<LoadedSummary>("load", ptUrl(), { cache: true }));
        expect(pt.stats.fromCache).toBe(true);
        expect(summaryOf(pt)).toEqual(expectedSummary(expected.pt));
        const dcp = value(await call<LoadedSummary>("load", dcpUrl(), { cache: true }));
        expect(summaryOf(dcp)).toEqual(expectedSummary(expected.dcp1d));
        expect(dcp.stats.fromCache).toBe(true);
      });

      it("a quota too small for a new entry gives E_QUOTA before a byte is written, and earlier entries survive", async () => {
        const cdp = await context.newCDPSession(page);
        const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
        await cdp.send("Storage.overrideQuotaForOrigin", {
          origin: pages.url.replace(/\/$/, ""),
          quotaSize: usage + 1000,
        });
        try {
          const got = await call("preloadHere", `${data.url}dcp2d/ckpt/`);
          expect(!got.ok && got.error).toMatchObject({ code: "E_QUOTA", message: expect.stringContaining("quota") });
          const entries = value(await call<{ path: string; files: number }[]>("cachedEntries"));
          expect(entries.map((e) => [e.path, e.files]).sort()).toEqual([["", 3], ["", 5], ["", 5], ["model.pt", 1]]);
          expect(value(await call<number>("verifyCached", ptUrl()))).toBe(1);
        } finally {
          await cdp.send("Storage.overrideQuotaForOrigin", { origin: pages.url.replace(/\/$/, "") });
        }
      });

      it("running out of quota while writing (QuotaExceededError) gives E_QUOTA, and earlier entries survive", async () => {
        const cdp = await context.newCDPSession(page);
        const origin = pages.url.replace(/\/$/, "");
        await page.exposeFunction("dropQuota", async () => {
          const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
          await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: usage + 4096 });
        });
        try {
          const got = await call("preloadWhileQuotaDrops", `${data.url}model.pt`);
          expect(!got.ok && got.error).toMatchObject({
            code: "E_QUOTA",
            message: expect.stringContaining("storage quota is exhausted"),
          });
        } finally {
          await cdp.send("Storage.overrideQuotaForOrigin", { origin });
        }
        const entries = value(await call<{ path: string; files: number }[]>("cachedEntries"));
        expect(entries.map((e) => [e.path, e.files]).sort()).toEqual([["", 3], ["", 5], ["", 5], ["model.pt", 1]]);
        const pt = value(await call<LoadedSummary>("load", ptUrl(), { cache: true }));
        expect(summaryOf(pt)).toEqual(expectedSummary(expected.pt));
      });

      it("an aborted preload rejects with the reason and commits nothing; the next one completes the entry", async () => {
        const url = `${data.url}model.pt`;
        expect(value(await call<string>("abortedPreload", url))).toBe("AbortError: tab closing");
        expect(value(await call<unknown[]>("cachedEntries"))).toHaveLength(4);
        const report = value(await call<{ alreadyCached: boolean; bytes: number }>("preloadHere", url));
        expect(report.alreadyCached).toBe(false);
        expect(value(await call<unknown[]>("cachedEntries"))).toHaveLength(5);
        expect(value(await call<number>("verifyCached", url))).toBe(1);
      });

      it("a corrupted cached byte is detected, naming the file and the block", async () => {
        value(await call("corruptCached", ptUrl(), "model.pt", 20000));
        const got = await call("verifyCached", ptUrl());
        expect(!got.ok && got.error).toMatchObject({
          code: "E_CHECKSUM",
          message: expect.stringMatching(/model\.pt @ offset 16384/),
        });
      });

      it("a main-thread preload killed mid-file resumes within the file from its last commit", async () => {
        const block = 4096;
        const size = mid.file.size;
        const url = `${data.url}mid/model.safetensors`;
        const killed = await context.newPage();
        await killed.goto(`${pages.url}index.html`);
        await killed.waitForFunction(() => (window as { bundleLoaded?: boolean }).bundleLoaded === true);
        await killed.evaluate(
          ([u, o]) =>
            (window as unknown as { webdcpLoader: Record<string, (...x: unknown[]) => Promise<unknown>> })
              .webdcpLoader.startFrozenPreload(u, o),
          [url, { blockBytes: block, freezeAt: 0.7 }] as const,
        );
        const frozenAt =
          await (await killed.waitForFunction(() => (window as { preloadFrozen?: number }).preloadFrozen))
            .jsonValue() as number;
        await killed.close(); // the tab dies with its writable open: what it had not committed is lost
        expect(frozenAt).toBeGreaterThanOrEqual(0.7 * size);
        data.requests.length = 0;
        const done = value(
          await call<{ resumedBytes: number; downloadedBytes: number; bytes: number; resumeGranularity: string }>(
            "preloadHere",
            url,
            { blockBytes: block },
          ),
        );
        expect(done.resumeGranularity).toBe("span");
        // Spans double: the last commit holds at least half of what was stored, and whole blocks.
        expect(done.resumedBytes).toBeGreaterThanOrEqual(frozenAt / 2 - block);
        expect(done.resumedBytes % block).toBe(0);
        expect(done.resumedBytes + done.downloadedBytes).toBe(done.bytes);
        const asked = data.requests.filter((r) => r.path === "mid/model.safetensors" && r.range)
          .map((r) => Number(/bytes=(\d+)-/.exec(r.range!)![1]));
        expect(asked.filter((o) => o !== 0 && o < done.resumedBytes)).toEqual([]); // no resumed byte fetched again
        expect(value(await call<number>("verifyCached", url))).toBe(1);
        const got = value(await call<LoadedSummary>("load", url, { cache: true }));
        expect(got.stats.fromCache).toBe(true);
        expect(got.tensors[0].sha256).toBe(mid.dataSha256);
      });

      it("a digest the server announces (Repr-Digest, X-Linked-ETag) is checked: a mismatch fails with E_CHECKSUM", async () => {
        const right = value(
          await call<{ files: { path: string; sha256: string; checkedAgainst?: string }[] }>(
            "preloadHere",
            `${digests.url}model.pt`,
          ),
        );
        const want = createHash("sha256").update(readFileSync(join(work, "ckpts", "model.pt"))).digest("hex");
        expect(right.files).toEqual([{
          path: "model.pt",
          size: expect.any(Number),
          sha256: want,
          checkedAgainst: "server",
        }]);
        const before = value(await call<unknown[]>("cachedEntries")).length;
        const wrong = await call("preloadHere", `${digests.url}wrong/model.pt`);
        expect(!wrong.ok && wrong.error).toMatchObject({
          code: "E_CHECKSUM",
          message: expect.stringContaining(`the server announced ${"0".repeat(64)}`),
        });
        expect(value(await call<unknown[]>("cachedEntries"))).toHaveLength(before);
      });
    });
  },
);
