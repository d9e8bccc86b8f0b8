/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepack`), installed from the tarball
 * into an empty folder, then used the installed ways: the `webdcp` command under Node and under Deno,
 * `import("webdcp")` from plain Node and from Deno, the browser files in headless Chromium served from
 * 127.0.0.1, a bundler taking the `browser` condition, and tsc / deno check of a consumer against the shipped
 * types. Every result is compared with the same work done here on the repository's sources.
 *
 * Needs: the npm cache or the registry for the package's dependencies (zod, @webgpu/types, ...), the deno
 * devDependency, and Debian's chromium (as test/storage/browser_chromium.test.ts).
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convert, createCpuEngine, dcp, inspect, MemoryStorage, type Tensor } from "../../mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { filesOf, startRangeServer } from "../storage/range_server.ts";
import { moduleGraph } from "./module_graph.ts";
import { probe } from "./probe.js";

const ROOT = resolve(".");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TSC = join(ROOT, "node_modules/.bin/tsc");
/** The deno devDependency's binary itself (node_modules/.bin/deno is a Node launcher in front of it). */
const DENO = execFileSync(join(ROOT, "node_modules/.bin/deno"), ["eval", "console.log(Deno.execPath())"], {
  encoding: "utf8",
}).trim();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): Run {
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A sound deterministic checkpoint: float32 and bfloat16 tensors over 4 uneven ranks, plus plain values. */
function trainingState(): Record<string, unknown> {
  const tensor = (dtype: "float32" | "bfloat16", shape: number[], seed: number): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const width = dtype === "float32" ? 4 : 2;
    const data = new Uint8Array(n * width);
    const view = new DataView(data.buffer);
    for (let i = 0; i < n; i++) {
      const bits = (Math.imul(i + seed, 2654435761) >>> 9) | 0x3c000000; // finite, about 2^-7 .. 2^-6
      if (width === 4) view.setUint32(i * 4, bits, true);
      else view.setUint16(i * 2, bits >>> 16, true);
    }
    return { dtype, shape, data };
  };
  return {
    model: {
      "tok_embeddings.weight": tensor("float32", [50, 16], 1),
      "layers.0.attention.wq.weight": tensor("bfloat16", [16, 16], 2),
      "layers.0.feed_forward.w1.weight": tensor("float32", [42, 16], 3),
      "norm.weight": tensor("float32", [16], 4),
    },
    train_state: { step: 10 },
  };
}

/** PATH without any folder holding a `deno`, so a run picks Node unless a test puts Deno back. */
function pathWithoutDeno(): string {
  return (process.env.PATH ?? "").split(delimiter).filter((dir) => dir && !existsSync(join(dir, "deno")))
    .join(delimiter);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

const CONSUMER_TS = `import { dcp, type DType, MemoryStorage, type Tensor } from "webdcp";
import { HttpStorage } from "webdcp/browser";
// @ts-expect-error FileStorage needs node:fs, so the browser entry does not have it
import { FileStorage } from "webdcp/browser";

const dtype: DType = "bfloat16";
const w: Tensor = { dtype, shape: [2], data: new Uint8Array(4) };
const storage = new MemoryStorage();
await dcp.saveStateDict(storage, "step-1", { model: { w } }, { ranks: 1 });
const names: string[] = (await dcp.openDcp(storage, "step-1")).entries().map((e) => e.name);
// @ts-expect-error a shape is a number[]
const wrong: Tensor = { dtype, shape: "2", data: new Uint8Array(4) };
export { FileStorage, HttpStorage, names, wrong };
`;

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2024", "DOM"],
    types: [], // only what the package itself brings in
    strict: true,
    skipLibCheck: false, // the shipped .d.ts files are checked too
    noEmit: true,
  },
  files: ["consumer.ts"],
};

/** The page imports one of the browser files, runs probe.js, and leaves the result on window. */
function page(moduleUrl: string, importMap?: Record<string, string>): string {
  const map = importMap ? `<script type="importmap">${JSON.stringify({ imports: importMap })}</script>` : "";
  return `<!doctype html><meta charset="utf-8"><title>webdcp</title>${map}
<script type="module">
import * as webdcp from "${moduleUrl}";
import { probe } from "./probe.js";
probe(webdcp).then((r) => { window.probeResult = r; }, (e) => { window.probeError = String(e && e.stack || e); });
</script>`;
}

/** The import map a page without a bundler needs for the unbundled browser entry: its dependencies' ESM files. */
const BROWSER_IMPORTS: Record<string, string> = {
  "aws4fetch": "./node_modules/aws4fetch/dist/aws4fetch.esm.mjs",
  "fflate/browser": "./node_modules/fflate/esm/browser.js",
  "smol-toml": "./node_modules/smol-toml/dist/index.js",
  "zod/mini": "./node_modules/zod/mini/index.js",
  "zod/v4/locales/en.js": "./node_modules/zod/v4/locales/en.js",
};

describe("the npm package, packed and installed into an empty folder", () => {
  let work = "";
  let app = "";
  let pkg = "";
  let tarballFiles: string[] = [];
  let tarballBytes = 0;
  let denoDir = "";
  /** Node on PATH, no Deno anywhere. */
  let nodeEnv: NodeJS.ProcessEnv = {};
  /** The same, with the deno devDependency's binary on PATH. */
  let denoEnv: NodeJS.ProcessEnv = {};

  function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Run {
    return result(spawnSync(cmd, args, { cwd: app, env, encoding: "utf8", input, timeout: 120_000 }));
  }
  /** `npx webdcp ...`, where `--no` forbids fetching a `webdcp` from the registry should the install be broken. */
  const webdcp = (args: string[], env: NodeJS.ProcessEnv) => run("npx", ["--no", "--", "webdcp", ...args], env);
  const deno = (args: string[]) => run(DENO, args, denoEnv);

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "webdcp-pack-"));
    app = join(work, "app");
    denoDir = join(work, "deno-dir");
    mkdirSync(app);
    mkdirSync(denoDir);
    // An enclosing `npm test` passes its own settings down as lowercase npm_* variables (npm_config_local_prefix
    // would send the nested install into the repository); a user's NPM_CONFIG_* (a registry mirror) stays.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/.test(k)));
    nodeEnv = { ...base, PATH: pathWithoutDeno(), DENO_DIR: denoDir, NO_COLOR: "1" };
    denoEnv = { ...nodeEnv, PATH: `${dirname(DENO)}${delimiter}${nodeEnv.PATH}` };

    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", work], {
        cwd: ROOT,
        env: base,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      }),
    ) as { filename: string; size: number; files: { path: string }[] }[];
    tarballFiles = packed[0].files.map((f) => f.path).sort();
    tarballBytes = packed[0].size;

    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    // The dependencies come from the npm cache where it has them, else from the registry; nothing else.
    execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(work, packed[0].filename)], {
      cwd: app,
      env: base,
      stdio: ["ignore", "ignore", "pipe"],
    });
    pkg = join(app, "node_modules/webdcp");
    cpSync(join(ROOT, "test/package/probe.js"), join(app, "probe.js"));
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("the tarball holds built JavaScript, .d.ts types and the bin, and no tests, bench, CI or TypeScript sources", () => {
    expect(tarballFiles).toEqual(expect.arrayContaining([
      "package.json",
      "README.md",
      "bin/webdcp",
      "dist/mod.js",
      "dist/mod.d.ts",
      "dist/browser.js",
      "dist/browser.d.ts",
      "dist/webdcp.browser.js",
      "dist/cli/main.js",
    ]));
    const unexpected = tarballFiles.filter((f) =>
      !/^dist\/.+\.(js|d\.ts)$/.test(f) && !["package.json", "README.md", "bin/webdcp"].includes(f)
    );
    expect(unexpected).toEqual([]);
    expect(tarballFiles.filter((f) => /^(test|bench|\.ci|scripts|examples|shaders)\//.test(f))).toEqual([]);
    // Every source module has its built module and its types.
    const sources = filesUnder(join(ROOT, "src")).filter((f) => f.endsWith(".ts") && !f.startsWith("cli/"));
    for (const f of sources) {
      expect(tarballFiles).toContain(`dist/src/${f.replace(/\.ts$/, ".js")}`);
      expect(tarballFiles).toContain(`dist/src/${f.replace(/\.ts$/, ".d.ts")}`);
    }
    expect(tarballBytes).toBeLessThan(4 << 20);
  });

  it("npx webdcp --help answers under Node and under Deno, with no 'Task' line", () => {
    for (const env of [nodeEnv, denoEnv]) {
      const r = webdcp(["--help"], env);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toMatch(/^usage: webdcp <command> \[options\]\n/);
      expect(r.stdout).toContain("  inspect ");
      const sub = webdcp(["inspect", "--help"], env);
      expect(sub).toMatchObject({ code: 0, stderr: "" });
      expect(sub.stdout).toMatch(/^usage: webdcp inspect <path>/);
    }
    expect(webdcp(["no-such-command"], nodeEnv)).toMatchObject({ code: 2 });
  });

  it("the command runs under Deno when one is on PATH, and under Node when none is", () => {
    // Deno leaves its caches in DENO_DIR when it runs a module; Node never touches it.
    rmSync(denoDir, { recursive: true, force: true });
    mkdirSync(denoDir);
    expect(webdcp(["--help"], nodeEnv).code).toBe(0);
    expect(readdirSync(denoDir)).toEqual([]);
    expect(webdcp(["--help"], denoEnv).code).toBe(0);
    expect(readdirSync(denoDir).length).toBeGreaterThan(0);
    expect(webdcp(["--help"], { ...nodeEnv, WEBDCP_RUNTIME: "deno" })).toMatchObject({ code: 2 });
    expect(webdcp(["--help"], { ...denoEnv, WEBDCP_RUNTIME: "node" }).code).toBe(0);
  });

  it("the command finds the deno npm package installed beside it, with no deno on PATH", () => {
    // The repository's own `deno` package, linked in as `npm link` would, instead of a second 100 MB copy.
    const link = join(app, "node_modules/deno");
    symlinkSync(dirname(DENO), link);
    try {
      rmSync(denoDir, { recursive: true, force: true });
      mkdirSync(denoDir);
      expect(webdcp(["--help"], nodeEnv).code).toBe(0);
      expect(readdirSync(denoDir).length).toBeGreaterThan(0);
    } finally {
      rmSync(link);
    }
  });

  describe("on a 4-rank DCP checkpoint", () => {
    beforeAll(async () => {
      await dcp.saveStateDict(new FileStorage(app), "ckpt/step-10", trainingState(), { ranks: 4 });
    });

    it("npx webdcp inspect --json reports what inspect() reports, under Node and Deno alike", async () => {
      // The command reports the path it was given; the library, the path inside the storage.
      const report = await inspect({ storage: new FileStorage(join(app, "ckpt/step-10")), path: "" });
      const expected = JSON.parse(JSON.stringify({ ...report, path: "ckpt/step-10" }));
      for (const env of [nodeEnv, denoEnv]) {
        const r = webdcp(["inspect", "ckpt/step-10", "--json"], env);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(JSON.parse(r.stdout)).toEqual(expected);
      }
      const table = webdcp(["inspect", "ckpt/step-10"], nodeEnv);
      expect(table.stdout).toContain("total: 4 tensors");
    });

    it("npx webdcp convert writes the bytes convert() writes, under Node and Deno alike", async () => {
      const mem = new MemoryStorage();
      await convert({ storage: new FileStorage(app), path: "ckpt/step-10" }, { storage: mem, path: "hf" }, {
        to: "safetensors",
        dtype: "bfloat16",
        engine: createCpuEngine(),
      });
      const expected = (await mem.list("hf"))!.map((e) => e.name).sort();
      for (const [name, env] of [["node", nodeEnv], ["deno", denoEnv]] as const) {
        const r = webdcp([
          "convert",
          "ckpt/step-10",
          `hf-${name}`,
          "--to",
          "safetensors",
          "--dtype",
          "bfloat16",
          "--quiet",
        ], env);
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(readdirSync(join(app, `hf-${name}`)).sort()).toEqual(expected);
        for (const file of expected) {
          expect(new Uint8Array(readFileSync(join(app, `hf-${name}`, file)))).toEqual(await mem.readAll(`hf/${file}`));
        }
      }
      const verify = webdcp(["verify", "hf-deno"], denoEnv);
      expect(verify).toMatchObject({ code: 0 });
    });
  });

  describe("imported as a library", () => {
    let reference: Awaited<ReturnType<typeof probe>>;
    beforeAll(async () => {
      reference = await probe(await import("../../mod.ts"));
    });
    const browserReference = () => ({ ...reference, exports: reference.exports.filter((n) => n !== "FileStorage") });

    it("import('webdcp') from plain Node does the probe job exactly as the sources do", () => {
      const script = `const { probe } = await import("./probe.js");
for (const id of ["webdcp", "webdcp/browser"]) console.log(JSON.stringify(await probe(await import(id))));`;
      const r = run("node", ["--input-type=module", "-"], nodeEnv, script);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const [full, browser] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(full).toEqual(reference);
      expect(full.readBackEqual).toBe(true);
      expect(browser).toEqual(browserReference());
    });

    it("Deno imports it from node_modules, as npm:webdcp and by file path, with the same results", () => {
      for (const id of ["webdcp", "npm:webdcp", "./node_modules/webdcp/dist/mod.js"]) {
        const r = deno([
          "eval",
          `const { probe } = await import("./probe.js");
console.log(JSON.stringify(await probe(await import(${JSON.stringify(id)}))));`,
        ]);
        expect({ id, ...r, stdout: "" }).toEqual({ id, code: 0, stderr: "", stdout: "" });
        expect(JSON.parse(r.stdout)).toEqual(reference);
      }
    });

    it("no module of the installed browser entry imports a Node built-in; its outside imports are its dependencies", () => {
      const graph = moduleGraph(join(pkg, "dist/browser.js"));
      expect([...graph.external.keys()].sort()).toEqual(Object.keys(BROWSER_IMPORTS).sort());
      expect(graph.computed.map((f) => relative(pkg, f))).toEqual(["dist/src/engine/gpu/device.js"]);
      const bundled = moduleGraph(join(pkg, "dist/webdcp.browser.js"));
      expect({ modules: bundled.modules.length, external: [...bundled.external.keys()] }).toEqual({
        modules: 1,
        external: [],
      });
    });

    it("a bundler targeting browsers takes the browser condition of 'webdcp' and finds nothing of Node", () => {
      writeFileSync(
        join(app, "bundle_me.js"),
        `import * as webdcp from "webdcp";\nconsole.log(Object.keys(webdcp));\n`,
      );
      const r = deno([
        "bundle",
        "--quiet",
        "--platform=browser",
        "--format=esm",
        "--output=bundled.js",
        "bundle_me.js",
      ]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const bundle = join(app, "bundled.js");
      expect(moduleGraph(bundle).external).toEqual(new Map());
      expect(readFileSync(bundle, "utf8")).not.toContain("class FileStorage");
    });

    it(
      "in headless Chromium, the bundled file and the import-mapped entry do the probe job as the sources do",
      async () => {
        const pages = {
          "bundled.html": page("./node_modules/webdcp/dist/webdcp.browser.js"),
          "mapped.html": page("./node_modules/webdcp/dist/browser.js", BROWSER_IMPORTS),
        };
        for (const [name, html] of Object.entries(pages)) writeFileSync(join(app, name), html);
        const server = await startRangeServer(filesOf(new FileStorage(app)));
        const context = await chromium.launchPersistentContext(join(work, "profile"), {
          executablePath: CHROMIUM,
          headless: true,
          args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
        });
        try {
          for (const name of Object.keys(pages)) {
            const tab = await context.newPage();
            const errors: string[] = [];
            tab.on("pageerror", (e) => errors.push(e.message));
            tab.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
            tab.on(
              "console",
              (m) =>
                m.type() === "error" && !m.text().startsWith("Failed to load resource") &&
                errors.push(`console: ${m.text()}`),
            );
            tab.on(
              "response",
              (r) => r.status() >= 400 && !r.url().endsWith("/favicon.ico") && errors.push(`${r.status()}: ${r.url()}`),
            );
            await tab.goto(`${server.url}${name}`);
            await tab.waitForFunction(() => "probeResult" in window || "probeError" in window, undefined, {
              timeout: 60_000,
            }).catch((e) => {
              throw new Error(`${name}: no probe result (${errors.join("; ") || "no page error"})`, { cause: e });
            });
            const outcome = await tab.evaluate(() => {
              const w = window as unknown as { probeResult?: unknown; probeError?: string };
              return { result: w.probeResult, error: w.probeError };
            });
            expect({ name, errors, error: outcome.error }).toEqual({ name, errors: [], error: undefined });
            expect(outcome.result).toEqual(browserReference());
          }
        } finally {
          await context.close();
          await server.close();
        }
      },
      120_000,
    );
  });

  describe("types", () => {
    beforeAll(() => {
      writeFileSync(join(app, "consumer.ts"), CONSUMER_TS);
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG));
      // A wrong use of the API, so both checkers are seen to fail where they should.
      writeFileSync(
        join(app, "wrong.ts"),
        `import { dcp } from "webdcp";\nawait dcp.openDcp("not a storage", "step-1");\n`,
      );
      writeFileSync(join(app, "tsconfig.wrong.json"), JSON.stringify({ ...CONSUMER_TSCONFIG, files: ["wrong.ts"] }));
    });

    it("tsc type-checks a consumer against the shipped .d.ts files (skipLibCheck off), and refuses a wrong use", () => {
      const r = run(TSC, ["-p", "tsconfig.json"], nodeEnv);
      expect({ code: r.code, output: r.stdout + r.stderr }).toEqual({ code: 0, output: "" });
      const bad = run(TSC, ["-p", "tsconfig.wrong.json"], nodeEnv);
      expect(bad.code).not.toBe(0);
      expect(bad.stdout).toContain("wrong.ts(2,19): error TS2345");
    });

    it("deno check type-checks the same consumer, and refuses the wrong use", () => {
      const r = deno(["check", "consumer.ts"]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "" });
      const bad = deno(["check", "wrong.ts"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("TS2345");
    });
  });
});
