import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpStorage, MemoryStorage } from "../../src/storage/mod.ts";
import { PrefetchStorage } from "../../src/storage/prefetch_storage.ts";
import { planRanges } from "../../src/storage/range_plan.ts";
import { filesOf, type RangeServer, startRangeServer } from "./range_server.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("PrefetchStorage over HTTP", () => {
  const files = new MemoryStorage();
  let server: RangeServer;
  const a = bytes(50_000, 1);
  beforeAll(async () => {
    await files.writeAll("a.bin", a);
    server = await startRangeServer(filesOf(files));
  });
  afterAll(() => server?.close());

  it("serves reads inside fetched windows without a request and learns sizes from Content-Range (no HEAD)", async () => {
    server.requests.length = 0;
    const view = new PrefetchStorage(new HttpStorage(server.url));
    await view.fetch(
      planRanges([{ path: "a.bin", offset: 100, length: 50 }, { path: "a.bin", offset: 200, length: 800 }]),
    );
    expect(server.requests).toEqual([{ method: "GET", path: "a.bin", range: "bytes=100-999" }]);
    expect(await view.stat("a.bin")).toEqual({ size: 50_000 });
    const source = await view.open("a.bin");
    expect(await source.read(300, 10)).toEqual(a.slice(300, 310));
    expect(view.holds("a.bin", 100, 900)).toBe(true);
    expect(server.requests).toHaveLength(1);
    // Outside the window: one ranged GET of exactly the bytes asked.
    expect(await source.read(40_000, 5)).toEqual(a.slice(40_000, 40_005));
    expect(server.requests.at(-1)).toEqual({ method: "GET", path: "a.bin", range: "bytes=40000-40004" });
    view.drop();
    expect(view.heldBytes).toBe(0);
    expect(view.peakHeldBytes).toBe(900);
  });

  it("probe() is one request: the file's first bytes, or undefined for a 404", async () => {
    server.requests.length = 0;
    const view = new PrefetchStorage(new HttpStorage(server.url));
    expect(await view.probe("missing.bin", 1000)).toBeUndefined();
    expect(await view.stat("missing.bin")).toBeUndefined();
    expect(await view.probe("a.bin", 1 << 20)).toEqual(a); // shorter file: the whole of it
    expect(server.requests.map((r) => r.path)).toEqual(["missing.bin", "a.bin"]);
  });

  it("a file that changed size between requests is E_IO", async () => {
    const view = new PrefetchStorage(new HttpStorage(server.url));
    await view.probe("a.bin", 10);
    await files.writeAll("a.bin", bytes(60_000, 2));
    try {
      const source = await view.open("a.bin");
      await expect(source.read(20_000, 10)).rejects.toMatchObject({
        code: "E_IO",
        message: expect.stringContaining("now 60000 bytes"),
      });
    } finally {
      await files.writeAll("a.bin", a);
    }
  });
});

describe("PrefetchStorage over a storage that is no RangeReader", () => {
  /** A MemoryStorage that logs every `open` and every read of the sources it opened. */
  function logged() {
    const files = new MemoryStorage();
    const log: string[] = [];
    const open = files.open.bind(files);
    files.open = async (path: string) => {
      log.push(`open ${path}`);
      const source = await open(path);
      return {
        path: source.path,
        size: source.size,
        read: (
          offset: number,
          length: number,
        ) => (log.push(`read ${path} ${offset}+${length}`), source.read(offset, length)),
        close: () => (log.push(`close ${path}`), source.close()),
      };
    };
    return { files, log };
  }

  it("opens each file once per fetch and once per view source, and sends the missed reads to that source", async () => {
    const { files, log } = logged();
    const a = bytes(10_000, 3);
    await files.writeAll("a.bin", a);
    await files.writeAll("b.bin", bytes(100, 4));
    const view = new PrefetchStorage(files);
    await view.fetch(planRanges([
      { path: "a.bin", offset: 0, length: 10 },
      { path: "a.bin", offset: 5000, length: 10 },
      { path: "b.bin", offset: 0, length: 100 },
    ], { maxGap: 0 }));
    expect(log.filter((l) => l.startsWith("open")).sort()).toEqual(["open a.bin", "open b.bin"]);
    expect(log.filter((l) => l.startsWith("close")).sort()).toEqual(["close a.bin", "close b.bin"]);
    log.length = 0;
    const source = await view.open("a.bin");
    expect(await source.read(5002, 4)).toEqual(a.slice(5002, 5006)); // held
    expect(await source.read(100, 50)).toEqual(a.slice(100, 150));
    expect(await source.read(9000, 1000)).toEqual(a.slice(9000));
    expect(log).toEqual(["open a.bin", "read a.bin 100+50", "read a.bin 9000+1000"]);
    await source.close();
    expect(log.at(-1)).toBe("close a.bin");
  });
});
