/**
 * The two entries of the package, checked on the sources: browser.ts is mod.ts less the host-only
 * FileStorage, and nothing reachable from it imports a Node built-in (so pages and bundlers take it as is).
 * test/package/pack.test.ts checks the same on the built files in the packed tarball.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleGraph } from "./module_graph.ts";

/** Exports only mod.ts has: they need a host's file system. */
const HOST_ONLY = ["FileStorage"];

const packageJson = JSON.parse(readFileSync("package.json", "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};

describe("package entries", () => {
  it("browser.ts exports everything mod.ts exports except FileStorage", async () => {
    const full = Object.keys(await import("../../mod.ts")).sort();
    const browser = Object.keys(await import("../../browser.ts")).sort();
    expect(full).toEqual(expect.arrayContaining(HOST_ONLY));
    expect(browser).toEqual(full.filter((name) => !HOST_ONLY.includes(name)));
  });

  it("no module reachable from browser.ts imports a Node built-in, statically or dynamically", () => {
    const graph = moduleGraph("browser.ts");
    expect(graph.modules.length).toBeGreaterThan(100);
    // Every outside import is a declared dependency (zod), never node:* or a bare built-in name.
    for (const [specifier, importers] of graph.external) {
      const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
      expect({
        specifier,
        importers: importers.map((f) => relative(".", f)),
        declared: name in packageJson.dependencies,
      })
        .toMatchObject({ declared: true });
    }
    // The one import(<expression>): Node's Dawn (`webgpu`), reached only where no navigator.gpu exists.
    expect(graph.computed.map((f) => relative(".", f))).toEqual(["src/engine/gpu/device.ts"]);
  });

  it("mod.ts does reach node:fs (through FileStorage), so the check above can see one", () => {
    const graph = moduleGraph("mod.ts");
    expect([...graph.external.keys()]).toContain("node:fs/promises");
    expect(graph.modules.map((f) => relative(".", f))).toContain("src/storage/file/mod.ts");
  });

  it("deno publish --dry-run accepts deno.json's exports: no slow types, license and files in order", () => {
    // --allow-dirty: the check is about the package, not about whether the work tree is committed.
    const r = spawnSync("node_modules/.bin/deno", ["publish", "--dry-run", "--allow-dirty"], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect({ code: r.status, errors: r.stderr.split("\n").filter((l) => /^error/.test(l)) }).toEqual({
      code: 0,
      errors: [],
    });
    expect(r.stderr).toContain("Simulating publish of @webdcp/webdcp@");
    expect(r.stderr).not.toMatch(/file:\/\/\S*\/(test|bench)\//);
  }, 120_000);

  it("deno.json and package.json give the package one version", () => {
    const deno = JSON.parse(readFileSync("deno.json", "utf8")) as { name: string; version: string };
    expect(deno.version).toBe(packageJson.version);
    expect(deno.name).toBe("@webdcp/webdcp");
  });
});
