import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Chromium flags of the browser proofs: headless WebGPU (SwiftShader here) without background traffic. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Bundles a page (or worker) entry for the browser with deno.json's imports plus `vitest` mapped to the
 * in-page runner, so shared specs run unchanged in the page. Returns the bundle's bytes.
 */
export function bundlePage(entry: string, work: string, name = "bundle.js"): Uint8Array {
  const { imports } = JSON.parse(readFileSync("deno.json", "utf8")) as { imports: Record<string, string> };
  const importMap = join(work, "import_map.json");
  const runner = pathToFileURL(resolve("test/browser/mini_vitest.ts")).href;
  writeFileSync(importMap, JSON.stringify({ imports: { ...imports, vitest: runner } }));
  const outFile = join(work, name);
  execFileSync("node_modules/.bin/deno", [
    "bundle",
    "--quiet",
    "--platform=browser",
    "--format=esm",
    `--import-map=${importMap}`,
    `--output=${outFile}`,
    entry,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return readFileSync(outFile);
}
