import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileSink } from "../../src/storage/file/file_sink.ts";
import { createSinkFile, type SinkFile } from "../../src/storage/file/sink_file.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import { expectCode } from "./storage_spec.ts";

const roots: string[] = [];
async function freshDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "webdcp-sink-"));
  roots.push(root);
  return root;
}
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** What a sink asked of its real temp file, in order, with how many flushes were running at each call. */
interface Recorded {
  calls: string[];
  maxFlushesAtOnce: number;
}

/** A real temp file whose calls are recorded; `failWrite`/`failFlush` make the Nth such call fail. */
async function recordedSink(
  opts: { fsync?: boolean; flushBytes?: number; failWrite?: number; failFlush?: number } = {},
) {
  const dir = await freshDir();
  const temp = join(dir, "out.bin.tmp-0123456789abcdef");
  const final = join(dir, "out.bin");
  const real = await createSinkFile(temp);
  const rec: Recorded = { calls: [], maxFlushesAtOnce: 0 };
  let flushing = 0;
  let writes = 0;
  let flushes = 0;
  const file: SinkFile = {
    write: (bytes, position) => {
      rec.calls.push(`write ${bytes.byteLength}`);
      if (++writes === opts.failWrite) return Promise.reject(Object.assign(new Error("no space"), { code: "ENOSPC" }));
      return real.write(bytes, position);
    },
    flush: async () => {
      rec.calls.push("flush");
      rec.maxFlushesAtOnce = Math.max(rec.maxFlushesAtOnce, ++flushing);
      try {
        if (++flushes === opts.failFlush) throw Object.assign(new Error("device gone"), { code: "EIO" });
        await real.flush();
      } finally {
        flushing--;
      }
    },
    sync: () => (rec.calls.push("sync"), real.sync()),
    close: () => (rec.calls.push("close"), real.close()),
  };
  const sink = new FileSink(file, "out.bin", temp, final, {
    fsync: opts.fsync ?? true,
    flushBytes: opts.flushBytes ?? 0,
    copier: null,
  });
  return { sink, rec, dir, temp, final };
}

const MiB = 1 << 20;

describe("FileSink", () => {
  it("gathers small writes and hands them to the file together, before the large write that follows them", async () => {
    const { sink, rec, temp, final } = await recordedSink();
    for (let i = 0; i < 10; i++) await sink.write(Uint8Array.of(i, i));
    expect(rec.calls).toEqual([]);
    expect((await stat(temp)).size).toBe(0);
    const big = new Uint8Array(MiB).fill(0xab);
    await sink.write(big);
    expect(rec.calls).toEqual(["write 20", `write ${MiB}`]);
    expect((await stat(temp)).size).toBe(20 + MiB);
    await sink.write(Uint8Array.of(7));
    await sink.close();
    const bytes = await readFile(final);
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 1, 1]);
    expect(bytes[20]).toBe(0xab);
    expect(bytes.byteLength).toBe(21 + MiB);
    expect(rec.calls.slice(2)).toEqual(["write 1", "sync", "close"]);
  });

  it("a large write resolves once the file holds its bytes, so the caller may refill the same buffer at once", async () => {
    const { sink, temp, final } = await recordedSink();
    const buffer = new Uint8Array(MiB);
    for (let i = 1; i <= 4; i++) {
      await sink.write(buffer.fill(i));
      expect((await stat(temp)).size).toBe(i * MiB);
    }
    await sink.close();
    const bytes = await readFile(final);
    expect([1, 2, 3, 4].map((i) => bytes[(i - 1) * MiB + 12345])).toEqual([1, 2, 3, 4]);
  });

  it("hands the file at most 1 MiB per write call, so a large write is several calls that land in order", async () => {
    const { sink, rec, final } = await recordedSink();
    const big = new Uint8Array(3 * MiB + 5);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    await sink.write(big);
    await sink.close();
    expect(rec.calls.filter((c) => c.startsWith("write"))).toEqual([
      `write ${3 * MiB + 5}`,
      `write ${2 * MiB + 5}`,
      `write ${MiB + 5}`,
      "write 5",
    ]);
    expect(Buffer.from(await readFile(final)).equals(Buffer.from(big))).toBe(true);
  });

  it("keeps the file in call order when small writes come while a large one is still running", async () => {
    const { sink, final } = await recordedSink();
    const big = new Uint8Array(2 * MiB).fill(9);
    const pending = sink.write(big);
    await sink.write(Uint8Array.of(1, 2, 3)); // gathered at once, written after the large write
    await pending;
    await sink.close();
    const bytes = await readFile(final);
    expect(bytes.byteLength).toBe(2 * MiB + 3);
    expect([...bytes.subarray(2 * MiB)]).toEqual([1, 2, 3]);
  });

  it("flushes to the device in the background every flushBytes, one flush at a time, then fsyncs at close", async () => {
    const { sink, rec } = await recordedSink({ flushBytes: 2 * MiB });
    const band = new Uint8Array(MiB);
    for (let i = 0; i < 8; i++) await sink.write(band.fill(i));
    await sink.close();
    const flushes = rec.calls.filter((c) => c === "flush").length;
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(flushes).toBeLessThanOrEqual(4);
    expect(rec.maxFlushesAtOnce).toBe(1);
    expect(rec.calls.slice(-2)).toEqual(["sync", "close"]);
  });

  it("with fsync: false, publishes without flushing or syncing", async () => {
    const { sink, rec, final } = await recordedSink({ fsync: false, flushBytes: MiB });
    for (let i = 0; i < 4; i++) await sink.write(new Uint8Array(MiB));
    await sink.close();
    expect(rec.calls).not.toContain("flush");
    expect(rec.calls).not.toContain("sync");
    expect((await stat(final)).size).toBe(4 * MiB);
  });
});

describe("FileSink (adversarial)", () => {
  it("a failed gathered write surfaces, typed, from the next write and from close, and nothing is published", async () => {
    const { sink, dir } = await recordedSink({ failWrite: 1 });
    await sink.write(Uint8Array.of(1, 2, 3));
    await expectCode(sink.write(new Uint8Array(MiB)), "E_IO", { path: "out.bin", offset: 0 });
    await expectCode(sink.write(Uint8Array.of(4)), "E_IO", { path: "out.bin" });
    await expectCode(sink.close(), "E_IO", { path: "out.bin" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("a failed background flush fails close() and removes the temp file", async () => {
    const { sink, dir } = await recordedSink({ flushBytes: MiB, failFlush: 1 });
    // The failure may already surface from a later write; it must from close().
    for (let i = 0; i < 4; i++) await sink.write(new Uint8Array(MiB)).catch(() => {});
    await expectCode(sink.close(), "E_IO", { path: "out.bin" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("abort() waits for the write in flight, then removes the temp file", async () => {
    const { sink, dir } = await recordedSink();
    const pending = sink.write(new Uint8Array(4 * MiB));
    await sink.abort();
    await pending;
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("FileStorage write options", () => {
  it("refuses a flushBytes that is not a whole number of bytes", () => {
    for (const flushBytes of [-1, 1.5, Number.NaN]) {
      expect(() => new FileStorage("/tmp", { flushBytes })).toThrow(expect.objectContaining({ code: "E_USAGE" }));
    }
  });

  it("writes the same bytes with fsync off and with a flush after every write", async () => {
    const bytes = Uint8Array.from({ length: 3 * MiB + 5 }, (_, i) => (i * 7) & 0xff);
    for (const opts of [{ fsync: false }, { flushBytes: MiB }]) {
      const s = new FileStorage(await freshDir(), opts);
      const sink = await s.create("a/b.bin");
      for (let at = 0; at < bytes.byteLength; at += MiB) await sink.write(bytes.subarray(at, at + MiB));
      await sink.close();
      expect(await s.readAll("a/b.bin")).toEqual(bytes);
    }
  });
});
