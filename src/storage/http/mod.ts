/**
 * Read-only storage over HTTP range requests (`HttpStorage`), with an injectable `fetch`.
 * @example
 * ```ts
 * import { HttpStorage } from "./mod.ts";
 *
 * // A server in memory, through the injectable fetch: HEAD gives the size, GET a byte range.
 * const file = Uint8Array.of(1, 2, 3, 4);
 * const serve = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
 *   if (init?.method === "HEAD") return Promise.resolve(new Response(null, { headers: { "content-length": "4" } }));
 *   const [, a, b] = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get("range") ?? "") ?? [];
 *   const body = file.slice(Number(a), Number(b) + 1);
 *   return Promise.resolve(new Response(body, { status: 206, headers: { "content-range": `bytes ${a}-${b}/4` } }));
 * };
 * const http = new HttpStorage("https://example.com/ckpt/", { fetch: serve as typeof fetch });
 * if ((await http.read("w.bin", 1, 2)).join() !== "2,3") throw new Error("a range read");
 * ```
 * @module
 */
export { HttpStorage, type HttpStorageOptions } from "./http_storage.ts";
export { discardBody, parseContentRange, readBodyInto } from "./http_range.ts";
