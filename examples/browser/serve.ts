/**
 * `npx deno task serve-example`: serves the example page, a browser bundle of webdcp and the demo
 * checkpoint from one small HTTP server with what a model host needs for webdcp: `Range` requests
 * (206 with `Content-Range`) and CORS that exposes `Content-Range`, so pages on other origins can load too;
 * checkpoint files carry their SHA-256 in `Repr-Digest` (RFC 9530), which `preload` checks its copy against.
 *
 * usage: deno run -A examples/browser/serve.ts [--port 8787] [--host 127.0.0.1] [--cache-dir .cache/example]
 */
import { FileStorage } from "../../mod.ts";
import { writeDemoCheckpoint } from "./demo_checkpoint.ts";

export interface ExampleServer {
  url: string;
  /** Requests served, by path (tests count them). */
  requests: { method: string; path: string; range: string | null }[];
  close(): Promise<void>;
}

const here = new URL(".", import.meta.url);
const repo = new URL("../../", import.meta.url);
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  css: "text/css",
};

/** Builds what the page needs (checkpoint, bundle) under `.cache/example/` and starts serving. */
export async function serveExample(
  options: { port?: number; hostname?: string; cacheDir?: string } = {},
): Promise<ExampleServer> {
  const cacheDir = options.cacheDir ?? new URL(".cache/example/", repo).pathname;
  await Deno.mkdir(cacheDir, { recursive: true });
  const ckpt = `${cacheDir}/ckpt`;
  try {
    await Deno.stat(`${ckpt}/.metadata`);
  } catch {
    await writeDemoCheckpoint(new FileStorage(cacheDir), "ckpt");
  }
  // Until the package ships its browser build, the page gets webdcp bundled from the sources.
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform=browser", "--format=esm", `--output=${cacheDir}/webdcp.js`, "mod.ts"],
    cwd: repo.pathname,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!bundle.success) throw new Error("deno bundle of mod.ts failed");

  const requests: ExampleServer["requests"] = [];
  const digests = new Map<string, Promise<string>>();
  const digestOf = (file: string): Promise<string> => {
    let d = digests.get(file);
    if (d === undefined) {
      d = Deno.readFile(file).then(async (bytes) =>
        btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))))
      );
      digests.set(file, d);
    }
    return d;
  };
  const fileFor = (path: string): string | undefined => {
    if (path === "/" || path === "/index.html") return new URL("index.html", here).pathname;
    if (path === "/app.js") return new URL("app.js", here).pathname;
    if (path === "/webdcp.js") return `${cacheDir}/webdcp.js`;
    if (path.startsWith("/ckpt/") && !path.includes("..")) return `${cacheDir}${path}`;
    return undefined;
  };
  const server = Deno.serve({
    port: options.port ?? 8787,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requests.push({ method: req.method, path, range: req.headers.get("range") });
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "Content-Range, Content-Length, Accept-Ranges, Repr-Digest",
    };
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: { ...cors, "access-control-allow-headers": "range", "access-control-allow-methods": "GET, HEAD" },
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return new Response(null, { status: 405, headers: cors });
    const file = fileFor(path);
    let size: number;
    try {
      if (file === undefined) throw new Error("unknown path");
      const info = await Deno.stat(file);
      if (!info.isFile) throw new Error("not a file");
      size = info.size;
    } catch {
      return new Response("not found", { status: 404, headers: cors });
    }
    const type = TYPES[file.split(".").pop() ?? ""] ?? "application/octet-stream";
    const headers: Record<string, string> = {
      ...cors,
      "content-type": type,
      "accept-ranges": "bytes",
      "cache-control": "no-store",
    };
    if (path.startsWith("/ckpt/")) headers["repr-digest"] = `sha-256=:${await digestOf(file)}:`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
    if (req.method === "HEAD") return new Response(null, { headers: { ...headers, "content-length": String(size) } });
    if (range === null) {
      return new Response((await Deno.open(file)).readable, {
        headers: { ...headers, "content-length": String(size) },
      });
    }
    const first = Number(range[1]);
    const last = Math.min(range[2] === "" ? size - 1 : Number(range[2]), size - 1);
    if (first >= size) {
      return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${size}` } });
    }
    const bytes = new Uint8Array(last - first + 1);
    const f = await Deno.open(file);
    try {
      await f.seek(first, Deno.SeekMode.Start);
      for (let done = 0; done < bytes.byteLength;) {
        const n = await f.read(bytes.subarray(done));
        if (n === null) break;
        done += n;
      }
    } finally {
      f.close();
    }
    return new Response(bytes, {
      status: 206,
      headers: {
        ...headers,
        "content-length": String(bytes.byteLength),
        "content-range": `bytes ${first}-${last}/${size}`,
      },
    });
  });
  const addr = server.addr as Deno.NetAddr;
  return { url: `http://${addr.hostname}:${addr.port}/`, requests, close: () => server.shutdown() };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const server = await serveExample({
    port: Number(arg("--port") ?? 8787),
    hostname: arg("--host"),
    cacheDir: arg("--cache-dir"),
  });
  console.log(`webdcp example: ${server.url}`);
}
