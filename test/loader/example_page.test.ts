/**
 * examples/browser in real headless Chromium: `serve.ts` (the `serve-example` task) is started as users
 * start it, the page loads the demo checkpoint, and the test checks the DOM (the tensor table against the
 * checkpoint's own metadata, the matmul's CPU column against a product computed here, the GPU column
 * against the CPU one), caches the checkpoint for offline use, loads it again from OPFS without a request,
 * and saves a screenshot whose PNG header it checks.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dcp, FileStorage, itemsize, type TensorEntry } from "../../mod.ts";
import { CHROMIUM_ARGS } from "../browser/bundle_page.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WEIGHT = "model.layers.0.feed_forward.w1.weight";

interface ExampleState {
  loads: number;
  cached: boolean;
  error: string | null;
  last?: { fromCache: boolean; requests: number; tensors: number; gpu: number[]; cpu: number[]; maxDiff: number };
}

describe.skipIf(process.env.WEBDCP_ALLOW_NO_GPU === "1" && !existsSync(CHROMIUM))("examples/browser", () => {
  let work: string;
  let server: ChildProcess;
  let url: string;
  let context: BrowserContext;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "webdcp-example-"));
    server = spawn("node_modules/.bin/deno", [
      "task",
      "serve-example",
      "--port",
      "0",
      "--cache-dir",
      join(work, "site"),
    ], {
      stdio: ["ignore", "pipe", "inherit"],
      detached: true, // its own process group: `deno task` runs the server as a child process
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /webdcp example: (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.on("exit", (code) => reject(new Error(`serve-example exited with ${code}: ${out}`)));
    });
    context = await chromium.launchPersistentContext(join(work, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 1400 },
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    if (server?.pid) process.kill(-server.pid);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("renders the tensor table and the matmul, then loads again from the OPFS cache without a request", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    const state = () => page.evaluate(() => (globalThis as unknown as { exampleState: ExampleState }).exampleState);
    const waitFor = async (done: (s: ExampleState) => boolean) => {
      await page.waitForFunction(
        (src) => {
          const s = (globalThis as unknown as { exampleState?: ExampleState }).exampleState;
          return s !== undefined && (s.error !== null || new Function("s", `return ${src}`)(s));
        },
        done.toString().replace(/^\(?s\)?\s*=>\s*/, ""),
        { timeout: 60_000 },
      );
      const s = await state();
      expect(s.error).toBeNull();
      return s;
    };

    await page.click("#load");
    const first = await waitFor((s) => s.loads === 1);

    // The table lists every tensor of the checkpoint with its dtype, shape and size.
    const ckpt = await dcp.openDcp(new FileStorage(join(work, "site")), "ckpt");
    const tensors = ckpt.entries().filter((e): e is TensorEntry & { path: string[] } => e.kind === "tensor");
    const rows = await page.$$eval(
      "#tensors tbody tr",
      (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    expect(rows.map((r) => r.slice(0, 4)).sort()).toEqual(
      tensors.map((
        e,
      ) => [e.name, e.dtype, `[${e.shape.join(", ")}]`, String(e.shape.reduce((a, b) => a * b, 1) * itemsize(e.dtype))])
        .sort(),
    );
    expect(rows.every((r) => Number(r[4]) >= 0)).toBe(true);

    // The CPU column is W x computed in float32 here from the stored weight; the GPU column matches it.
    const w = await ckpt.readTensor(WEIGHT);
    await ckpt.close();
    const [n, k] = w.shape;
    const values = new Float32Array(w.data.buffer, w.data.byteOffset, n * k);
    const x = Float32Array.from({ length: k }, (_, i) => (i + 1) / 16 - 0.5);
    const cpu = Array.from({ length: n }, (_, r) => {
      let acc = 0;
      for (let j = 0; j < k; j++) acc = Math.fround(acc + Math.fround(values[r * k + j] * x[j]));
      return acc;
    });
    expect(first.last!.cpu).toEqual(cpu);
    for (let r = 0; r < n; r++) {
      expect(Math.abs(first.last!.gpu[r] - cpu[r])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(cpu[r])));
    }
    expect(await page.$$eval("#matmul tbody tr", (trs) => trs.length)).toBe(n);
    expect(await page.textContent("#matmul-result")).toMatch(/^max \|GPU - CPU\| = \S+ over 42 rows$/);
    // One request per file of the 4-rank DCP: .metadata and four rank files.
    expect(first.last!.requests).toBe(5);
    expect(await page.textContent("#status")).toContain("with 5 HTTP request(s)");
    expect(await page.getAttribute("#progress", "value")).toBe("1");

    await page.click("#cache");
    await waitFor((s) => s.cached);
    expect(await page.textContent("#status")).toMatch(
      /^Cached 5 files \(\d+ bytes, verified\); 5 SHA-256 digests announced by the server matched\./,
    );
    await page.click("#load-cached");
    const second = await waitFor((s) => s.loads === 2);
    expect(second.last).toMatchObject({ fromCache: true, requests: 0, tensors: tensors.length, gpu: first.last!.gpu });
    expect(await page.textContent("#status")).toContain("with 0 HTTP request(s) from the OPFS cache");

    const png = join(work, "example.png");
    await page.screenshot({ path: png, fullPage: true });
    const bytes = readFileSync(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.readUInt32BE(16)).toBe(1100); // IHDR width
    expect(bytes.byteLength).toBeGreaterThan(10_000);
    mkdirSync(".cache", { recursive: true });
    copyFileSync(png, ".cache/example-page.png"); // kept for a look; .cache is not tracked
    expect(errors).toEqual([]);
  }, 180_000);
});
