/**
 * Proof in real headless Chromium (SwiftShader WebGPU, OPFS): the page bundle of test/browser/entry.ts is
 * served with its fixtures by a Range-honouring node:http server, runs, and reports a JSON summary that is
 * checked here against results computed in Node. Lives under test/storage because vitest.config.ts
 * excludes test/browser/**.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convert, createCpuEngine, dcp, DTYPE_INFO, engine, MemoryStorage, safetensors } from "../../mod.ts";
import { bundlePage, CHROMIUM_ARGS } from "../browser/bundle_page.ts";
import type { BrowserReport, Section } from "../browser/entry.ts";
import { all16BitPatterns, dcpStateDict, remoteWeights, sha256Hex, summarizeStateDict } from "../browser/fixtures.ts";
import { filesOf, type RangeServer, startRangeServer } from "./range_server.ts";

const { saveStateDict } = dcp;
const { convertCpu } = engine;
const { writeSafetensorsFolder } = safetensors;

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// As test/engine/gpu_fixture.ts: a missing Chromium or adapter fails unless WEBDCP_ALLOW_NO_GPU=1, and
// always fails under CI or WEBDCP_REQUIRE_GPU=1.
const REQUIRED = Boolean(process.env.CI) || process.env.WEBDCP_REQUIRE_GPU === "1" ||
  process.env.WEBDCP_ALLOW_NO_GPU !== "1";

// The page loads the whole of mod.ts as is: nothing in it may need Node at load time (FileStorage loads
// node:fs only when used).
const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>webdcp</title>
<script type="module">import { runChecks } from "./bundle.js"; window.runChecks = runChecks; window.bundleLoaded = true;</script>`;

function value<T>(s: Section<T>): T {
  if (!s.ok) throw new Error(`page section failed: ${s.error}`);
  return s.value;
}

describe.skipIf(!REQUIRED && !existsSync(CHROMIUM))("webdcp in headless Chromium", () => {
  let work: string | undefined;
  let server: RangeServer | undefined;
  let report: BrowserReport;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "webdcp-chromium-"));
    const files = new MemoryStorage();
    await files.writeAll("bundle.js", bundlePage("test/browser/entry.ts", work));
    await files.writeAll("index.html", new TextEncoder().encode(INDEX_HTML));
    await writeSafetensorsFolder(files, "fixtures", remoteWeights());
    await saveStateDict(files, "fixtures/ckpt", dcpStateDict(), { ranks: 2 });
    server = await startRangeServer(filesOf(files));
    const context = await chromium.launchPersistentContext(join(work, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await context.newPage();
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${server.url}index.html`);
      await page.waitForFunction(() => (window as { bundleLoaded?: boolean }).bundleLoaded === true, undefined, {
        timeout: 15_000,
      });
      report = await page.evaluate(() => (window as unknown as { runChecks(): Promise<BrowserReport> }).runChecks());
    } finally {
      await context.close();
    }
  }, 90_000);

  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** GPU sections: a Chromium without an adapter skips them only when that is allowed (see REQUIRED). */
  function gpuSection<T>(s: Section<T>, skip: () => void): T | undefined {
    if (!report.gpu.ok && !REQUIRED) return void skip();
    return value(s);
  }

  it("the page loads the bundle without errors and Chromium gives a WebGPU adapter", (ctx) => {
    expect(pageErrors).toEqual([]);
    if (!report.gpu.ok && !REQUIRED) return ctx.skip();
    const gpu = value(report.gpu);
    expect(gpu.kind).toBe("gpu");
    expect(gpu.adapter).not.toBe("");
  });

  it("loadToGpu() streams a remote safetensors file over HttpStorage into WebGPU, cast to bfloat16 bit-exactly", async (ctx) => {
    const tensors = gpuSection(report.remoteLoad, () => ctx.skip())!;
    const gets = server!.requests.filter((r) => r.method === "GET" && r.path === "fixtures/model.safetensors");
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.filter((r) => !/^bytes=\d+-\d+$/.test(r.range ?? ""))).toEqual([]); // only range reads
    const expected = remoteWeights();
    expect(tensors.map((t) => t.name).sort()).toEqual(expected.map((e) => e.name).sort());
    for (const e of expected) {
      const got = tensors.find((t) => t.name === e.name)!;
      const data = e.data as Uint8Array;
      const to = DTYPE_INFO[e.dtype].floating ? "bfloat16" : e.dtype;
      const bytes = to === e.dtype ? data : convertCpu(data, e.dtype, to);
      expect({ name: got.name, dtype: got.dtype, shape: got.shape, equalsCpu: got.equalsCpu, sha256: got.sha256 })
        .toEqual({ name: e.name, dtype: to, shape: e.shape, equalsCpu: true, sha256: await sha256Hex(bytes) });
    }
  });

  it("createEngine({ kind: 'gpu' }) converts all 65536 f16 and bf16 patterns to f32 like the CPU twin", async (ctx) => {
    const patterns = gpuSection(report.patterns, () => ctx.skip())!;
    const all = all16BitPatterns();
    expect(patterns).toEqual([
      { from: "float16", mismatches: 0, sha256: await sha256Hex(convertCpu(all, "float16", "float32")) },
      { from: "bfloat16", mismatches: 0, sha256: await sha256Hex(convertCpu(all, "bfloat16", "float32")) },
    ]);
  });

  it("openDcp() over HttpStorage in the page reads a 2-rank DCP bit-exactly", async () => {
    expect(value(report.remoteDcp)).toEqual(await summarizeStateDict(dcpStateDict()));
  });

  it("OpfsStorage holds a 2-rank DCP saved by saveStateDict and its safetensors conversion, both bit-exact", async () => {
    const opfs = value(report.opfs);
    const mem = new MemoryStorage();
    await saveStateDict(mem, "ckpt", dcpStateDict(), { ranks: 2 });
    const converted = await convert({ storage: mem, path: "ckpt" }, { storage: mem, path: "hf" }, {
      to: "safetensors",
      engine: createCpuEngine(),
    });
    expect(opfs.files).toEqual((await mem.list("ckpt"))!.map((e) => e.name));
    expect(opfs.stateDict).toEqual(await summarizeStateDict(dcpStateDict()));
    expect(opfs.converted).toEqual(converted.files);
    expect(opfs.safetensorsSha256).toBe(await sha256Hex(await mem.readAll("hf/model.safetensors")));
    expect(opfs.readBackEqual).toBe(true);
  });

  it("OpfsStorage passes the shared Storage spec and its own adversarial checks in the page", () => {
    const results = value(report.spec);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(25);
    expect(results.map((r) => r.name)).toContain(
      "OpfsStorage: sinks > close() replaces an existing file while an open source fails with E_IO",
    );
    expect(results.filter((r) => r.name.startsWith("OpfsStorage in the browser >"))).toHaveLength(5);
  });
});
