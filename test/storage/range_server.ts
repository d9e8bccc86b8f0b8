import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Storage } from "../../src/storage/mod.ts";

/** A file the server can send any range of without holding it (so tests can claim 100 GB files). */
export interface ServedFile {
  size: number;
  bytes(offset: number, length: number): Promise<Uint8Array>;
  contentType?: string;
  /** More headers for every answer about the file (e.g. a digest); a CORS "expose" server exposes them. */
  headers?: Record<string, string>;
}

/** Ways a real server can misbehave; the default honours HEAD and single `bytes=a-b` ranges (RFC 9110). */
export interface Quirks {
  /** Answer every GET with 200 and the whole file, as servers without range support do. */
  ignoreRange?: boolean;
  /** Report a Content-Range whose first byte is off by this much (the bytes sent are the right ones). */
  shiftContentRange?: number;
  /** Send this many bytes fewer than the range, with a matching Content-Length (a clean, short body). */
  shortBy?: number;
  /** Announce the full range but cut the connection after half of it. */
  cutMidBody?: boolean;
  /** Status for every GET (e.g. 500), with an empty body. */
  getStatus?: number;
  /** Status for every HEAD (e.g. 405 for servers that refuse it). */
  headStatus?: number;
  /** HEAD answers without Content-Length. */
  headWithoutLength?: boolean;
  /** Answer 206 without a Content-Range header, as a browser shows a CORS server that does not expose it. */
  hideContentRange?: boolean;
  /**
   * Cross-origin headers: "expose" lets pages read Content-Range (what a CORS-ready server sends), "hidden"
   * allows the origin but exposes nothing, as servers configured for plain downloads do.
   */
  cors?: "expose" | "hidden";
  /** Paths answered with a 301 to the given location, as static servers do for a folder without `/`. */
  redirect?: Record<string, string>;
}

export interface RangeServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** Every request seen: method, path and Range header. */
  requests: { method: string; path: string; range?: string }[];
  close(): Promise<void>;
}

/** Serves the files of a `Storage` (e.g. one written by `saveStateDict`) by their storage paths. */
export function filesOf(storage: Storage): (path: string) => Promise<ServedFile | undefined> {
  return async (path) => {
    const info = await storage.stat(path).catch(() => undefined);
    if (info === undefined) return undefined;
    return {
      size: info.size,
      bytes: (offset, length) => storage.read(path, offset, length),
      contentType: typeOf(path),
    };
  };
}

/** A real `node:http` server on 127.0.0.1 with an ephemeral port. */
export async function startRangeServer(
  resolve: (path: string) => Promise<ServedFile | undefined>,
  quirks: Quirks = {},
): Promise<RangeServer> {
  const requests: RangeServer["requests"] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\//, "");
    requests.push({ method: req.method ?? "", path, range: req.headers.range });
    handle(req, res, path, resolve, quirks).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  resolve: (path: string) => Promise<ServedFile | undefined>,
  quirks: Quirks,
): Promise<void> {
  if (quirks.cors) {
    res.setHeader("access-control-allow-origin", "*");
    if (quirks.cors === "expose") res.setHeader("access-control-expose-headers", "Content-Range, Content-Length");
    if (req.method === "OPTIONS") {
      return void res.writeHead(204, {
        "access-control-allow-headers": "range",
        "access-control-allow-methods": "GET, HEAD",
      }).end();
    }
  }
  const location = quirks.redirect?.[path];
  if (location !== undefined) return void res.writeHead(301, { location }).end();
  const file = await resolve(path);
  if (file === undefined) return void res.writeHead(404).end();
  const type = { "content-type": file.contentType ?? "application/octet-stream", ...file.headers };
  if (quirks.cors === "expose" && file.headers) {
    res.setHeader(
      "access-control-expose-headers",
      ["Content-Range", "Content-Length", ...Object.keys(file.headers)].join(", "),
    );
  }
  if (req.method === "HEAD") {
    if (quirks.headStatus) return void res.writeHead(quirks.headStatus).end();
    const length = quirks.headWithoutLength ? {} : { "content-length": String(file.size) };
    return void res.writeHead(200, { ...type, ...length, "accept-ranges": "bytes" }).end();
  }
  if (req.method !== "GET") return void res.writeHead(405).end();
  if (quirks.getStatus) return void res.writeHead(quirks.getStatus).end();
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
  if (range === null || quirks.ignoreRange) {
    res.writeHead(200, { ...type, "content-length": String(file.size) });
    return await stream(res, file, 0, file.size);
  }
  const first = Number(range[1]);
  const last = Math.min(Number(range[2]), file.size - 1);
  if (first >= file.size) return void res.writeHead(416, { "content-range": `bytes */${file.size}` }).end();
  const length = last - first + 1 - (quirks.shortBy ?? 0);
  const shown = first + (quirks.shiftContentRange ?? 0);
  res.writeHead(206, {
    ...type,
    "content-length": String(length),
    ...(quirks.hideContentRange ? {} : { "content-range": `bytes ${shown}-${shown + last - first}/${file.size}` }),
  });
  if (quirks.cutMidBody) {
    res.write(await file.bytes(first, Math.floor(length / 2)));
    // Let the half body reach the client before the connection drops.
    return await new Promise<void>((ok) => setTimeout(() => (res.destroy(), ok()), 20));
  }
  await stream(res, file, first, length);
}

/** Writes `length` bytes in 1 MiB pieces, stopping as soon as the client goes away. */
async function stream(res: ServerResponse, file: ServedFile, offset: number, length: number): Promise<void> {
  const piece = 1 << 20;
  for (let done = 0; done < length && !res.destroyed; done += piece) {
    const ok = res.write(await file.bytes(offset + done, Math.min(piece, length - done)));
    if (!ok && !res.destroyed) await drainedOrClosed(res);
  }
  res.end();
}

/** Waits for `drain` or `close`, and takes back the listener that did not fire (a long body waits many times). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise<void>((go) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      go();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function typeOf(path: string): string {
  if (path.endsWith(".html")) return "text/html; charset=utf-8";
  if (path.endsWith(".js") || path.endsWith(".mjs")) return "text/javascript; charset=utf-8";
  if (path.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}
