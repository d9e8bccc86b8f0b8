import { afterEach, describe, expect, it } from "vitest";
import { HttpStorage } from "../../src/storage/mod.ts";
import { type Quirks, type RangeServer, type ServedFile, startRangeServer } from "./range_server.ts";
import { expectCode } from "./storage_spec.ts";

const pattern = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) * 13 & 0xff);

/** One file of `bytes` at `f.bin`, counting how many bytes the server produced for it. */
function oneFile(
  bytes: Uint8Array,
): { resolve: (p: string) => Promise<ServedFile | undefined>; produced: () => number } {
  let produced = 0;
  const file: ServedFile = {
    size: bytes.byteLength,
    bytes: async (offset, length) => ((produced += length), bytes.slice(offset, offset + length)),
  };
  return { resolve: async (p) => (p === "f.bin" ? file : undefined), produced: () => produced };
}

const servers: RangeServer[] = [];
async function serve(resolve: (p: string) => Promise<ServedFile | undefined>, quirks: Quirks = {}) {
  const server = await startRangeServer(resolve, quirks);
  servers.push(server);
  return { server, http: new HttpStorage(server.url), url: `${server.url}f.bin` };
}
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe("HttpStorage against misbehaving servers", () => {
  it("a server ignoring Range still serves a small file, downloaded once and read from memory", async () => {
    const bytes = pattern(1000);
    const { server, http } = await serve(oneFile(bytes).resolve, { ignoreRange: true });
    const src = await http.open("f.bin");
    expect(await src.read(990, 10)).toEqual(bytes.subarray(990));
    expect(await src.read(5, 3)).toEqual(bytes.subarray(5, 8));
    expect(server.requests.filter((r) => r.method === "GET")).toHaveLength(1);
    await src.close();
  });

  it("a server ignoring Range on a 100 GiB file is E_UNSUPPORTED and the download is cut short", async () => {
    const size = 100 * 2 ** 30;
    let produced = 0;
    const huge: ServedFile = { size, bytes: async (_o, n) => ((produced += n), new Uint8Array(n)) };
    const { http, url } = await serve(async () => huge, { ignoreRange: true });
    const src = await http.open("f.bin");
    expect(src.size).toBe(size);
    await expectCode(src.read(0, 8), "E_UNSUPPORTED", { path: url, offset: 0 });
    await new Promise((ok) => setTimeout(ok, 50));
    expect(produced).toBeLessThan(256 << 20); // far from 100 GiB: the client hung up
  });

  it("maxUnrangedBytes bounds what a server ignoring Range may send", async () => {
    const { server } = await serve(oneFile(pattern(100)).resolve, { ignoreRange: true });
    const strict = new HttpStorage(server.url, { maxUnrangedBytes: 99 });
    await expectCode(strict.read("f.bin", 0, 1), "E_UNSUPPORTED");
    expect(() => new HttpStorage(server.url, { maxUnrangedBytes: -1 })).toThrowError(/E_USAGE/);
  });

  it("a Content-Range that does not match the request is E_IO at the requested offset", async () => {
    const { http, url } = await serve(oneFile(pattern(64)).resolve, { shiftContentRange: 1 });
    await expectCode(http.read("f.bin", 10, 4), "E_IO", { path: url, offset: 10 });
  });

  it("a body shorter than the range is E_TRUNCATED at the first missing byte", async () => {
    const { http, url } = await serve(oneFile(pattern(64)).resolve, { shortBy: 3 });
    await expectCode(http.read("f.bin", 8, 16), "E_TRUNCATED", { path: url, offset: 8 + 13 });
  });

  it("a connection cut mid-body is E_TRUNCATED", async () => {
    const { http, url } = await serve(oneFile(pattern(4 << 20)).resolve, { cutMidBody: true });
    const err = await http.read("f.bin", 100, 2 << 20).catch((e) => e);
    expect(err.code).toBe("E_TRUNCATED");
    expect(err.path).toBe(url);
    expect(err.offset).toBeGreaterThanOrEqual(100);
    expect(err.offset).toBeLessThan(100 + (2 << 20));
  });

  it("a 500 answer is E_IO naming the URL, the status and the offset", async () => {
    const { http, url } = await serve(oneFile(pattern(64)).resolve, { getStatus: 500 });
    const src = await http.open("f.bin");
    const err = await src.read(32, 4).catch((e) => e);
    expect(err).toMatchObject({ code: "E_IO", path: url, offset: 32 });
    expect(err.message).toMatch(/HTTP 500/);
  });

  it("a file that disappears after open() is E_NOT_FOUND; one that shrank is E_TRUNCATED", async () => {
    let file: ServedFile | undefined = { size: 64, bytes: async (o, n) => pattern(n, o) };
    const { http, url } = await serve(async () => file);
    const src = await http.open("f.bin");
    file = { size: 10, bytes: async (o, n) => pattern(n, o) };
    await expectCode(src.read(20, 4), "E_TRUNCATED", { path: url, offset: 20 });
    file = undefined;
    await expectCode(src.read(0, 4), "E_NOT_FOUND", { path: url, offset: 0 });
    await expectCode(http.open("f.bin"), "E_NOT_FOUND", { path: url });
  });

  it("a file whose size changed since open() is E_IO, not silently mixed bytes", async () => {
    let file: ServedFile = { size: 64, bytes: async (o, n) => pattern(n, o) };
    const { http } = await serve(async () => file);
    const src = await http.open("f.bin");
    file = { size: 80, bytes: async (o, n) => pattern(n, o + 1) };
    await expectCode(src.read(0, 4), "E_IO", { offset: 0 });
  });

  it("reads past the end are E_OUT_OF_RANGE before any request is sent", async () => {
    const { server, http } = await serve(oneFile(pattern(64)).resolve);
    const src = await http.open("f.bin");
    const before = server.requests.length;
    await expectCode(src.read(60, 5), "E_OUT_OF_RANGE", { path: "f.bin", offset: 60 });
    await expectCode(src.readInto!(70, new Uint8Array(1)), "E_OUT_OF_RANGE", { path: "f.bin", offset: 70 });
    await expectCode(src.read(0, 2 ** 31 + 1), "E_USAGE");
    expect(server.requests.length).toBe(before);
  });

  it("stat() falls back to a one-byte range GET when HEAD is refused or has no Content-Length", async () => {
    for (const quirks of [{ headStatus: 405 }, { headWithoutLength: true }]) {
      const { server, http } = await serve(oneFile(pattern(77)).resolve, quirks);
      expect(await http.stat("f.bin")).toEqual({ size: 77 });
      expect(server.requests.map((r) => `${r.method} ${r.range ?? ""}`)).toEqual(["HEAD ", "GET bytes=0-0"]);
    }
  });

  it("stat() of a folder URL that redirects to its `/` listing page is undefined, not an HTML file", async () => {
    const listing: ServedFile = { size: 20, bytes: async (_o, n) => new Uint8Array(n), contentType: "text/html" };
    const { http } = await serve(async (p) => (p === "ckpt/" ? listing : undefined), { redirect: { ckpt: "/ckpt/" } });
    expect(await http.stat("ckpt")).toBeUndefined();
    await expectCode(http.open("ckpt"), "E_NOT_FOUND");
  });

  it("stat() of a server failing both HEAD and GET is E_IO", async () => {
    const { http, url } = await serve(oneFile(pattern(8)).resolve, { headStatus: 503, getStatus: 503 });
    await expectCode(http.stat("f.bin"), "E_IO", { path: url });
  });

  it("a 206 body longer than its Content-Range is E_IO and is not buffered", async () => {
    const http = new HttpStorage("http://example.invalid/", {
      fetch: async (_url, init) => {
        if (init?.method === "HEAD") return new Response(null, { headers: { "content-length": "1000" } });
        return new Response(pattern(1000), { status: 206, headers: { "content-range": "bytes 0-9/1000" } });
      },
    });
    await expectCode(http.read("f.bin", 0, 10), "E_IO", { path: "http://example.invalid/f.bin", offset: 10 });
  });

  it("a server that cannot be reached is E_IO naming the URL", async () => {
    const { server } = await serve(oneFile(pattern(8)).resolve);
    const http = new HttpStorage(server.url);
    await server.close();
    await expectCode(http.stat("f.bin"), "E_IO", { path: `${server.url}f.bin`, offset: 0 });
  });
});
