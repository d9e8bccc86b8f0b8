import { describe, expect, it } from "vitest";
import type { ByteSource, StoredRange } from "../../src/storage/mod.ts";
import { memorySource } from "../../src/storage/mod.ts";
import { checksummedRecord, crc32, readZipDirectory, ZipWriter } from "../../src/zip/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 131 + 7) & 0xff);

/** A memory source that counts the bytes read from it. */
function counted(bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const inner = memorySource(bytes, "src.bin");
  const source = {
    path: inner.path,
    size: inner.size,
    bytesRead: 0,
    read: (offset: number, length: number) => ((source.bytesRead += length), inner.read(offset, length)),
    readInto: (
      offset: number,
      into: Uint8Array,
    ) => ((source.bytesRead += into.byteLength), inner.readInto!(offset, into)),
    close: () => inner.close(),
  };
  return source;
}

/**
 * A sink that copies stored ranges itself, as a storage-side copy does (here out of the source's memory, in
 * process: the point is what the writer reads, not how bytes move).
 */
class CopyingSink extends BufferSink {
  copies = 0;
  constructor(private readonly origin: Uint8Array) {
    super("copying:");
  }
  async copyFrom(_from: ByteSource, offset: number, length: number): Promise<boolean> {
    this.copies++;
    await this.write(this.origin.subarray(offset, offset + length));
    return true;
  }
}

async function recordOf(sink: BufferSink) {
  const entries = await readZipDirectory(memorySource(sink.bytes(), "z.zip"));
  return entries[0];
}

describe("ZipWriter with stored ranges", () => {
  it("copies ranges where the sink can and gets their CRC from the checksummed record, reading only the shorter side of each cut", async () => {
    const source = counted(data);
    const record = checksummedRecord(source, 10_000, 80_000, crc32(data.subarray(10_000, 90_000)));
    const sink = new CopyingSink(data);
    const zip = new ZipWriter(sink);
    const pieces: Array<Uint8Array | StoredRange> = [
      Uint8Array.of(1, 2, 3),
      { source, offset: 20_000, length: 30_000, record }, // one run of the record in two copies...
      { source, offset: 50_000, length: 10_000, record },
      Uint8Array.of(4),
      { source, offset: 80_000, length: 10_000, record }, // ...then a run reaching the record's end
      { source, offset: 500, length: 700 }, // no record: its CRC is read
    ];
    await zip.writeRecordStream("r", 3 + 40_000 + 1 + 10_000 + 700, pieces);
    await zip.finish();
    const e = await recordOf(sink);
    const expected = new Uint8Array([
      1,
      2,
      3,
      ...data.subarray(20_000, 60_000),
      4,
      ...data.subarray(80_000, 90_000),
      ...data.subarray(500, 1200),
    ]);
    expect(sink.bytes().subarray(e.dataOffset, e.dataOffset + e.size)).toEqual(expected);
    expect(e.crc32).toBe(crc32(expected));
    expect(sink.copies).toBe(4);
    // Cuts at 20000 (10000 from the start), 60000 (30000 from the end), 80000 (10000 from the end), plus the
    // 700 bytes without a record: far less than the 50_700 copied.
    expect(source.bytesRead).toBe(10_000 + 30_000 + 10_000 + 700);
  });

  it("reads and writes ranges a sink cannot copy, with their CRC taken as they pass", async () => {
    const source = counted(data);
    const sink = new BufferSink();
    const zip = new ZipWriter(sink);
    await zip.writeRecordStream("r", 30_000, [{ source, offset: 1000, length: 30_000 }]);
    await zip.finish();
    const e = await recordOf(sink);
    expect(sink.bytes().subarray(e.dataOffset, e.dataOffset + e.size)).toEqual(data.subarray(1000, 31_000));
    expect(e.crc32).toBe(crc32(data.subarray(1000, 31_000)));
    expect(source.bytesRead).toBe(30_000);
  });

  it("reads copied ranges that have no checksummed record one after another, however many the sink copies at once", async () => {
    const inner = memorySource(data, "src.bin");
    let reading = 0;
    let most = 0;
    const source: ByteSource = {
      path: inner.path,
      size: inner.size,
      read: (offset, length) => inner.read(offset, length),
      async readInto(offset, into) {
        most = Math.max(most, ++reading);
        await new Promise((resolve) => setTimeout(resolve, 1));
        await inner.readInto!(offset, into);
        reading--;
      },
      close: () => inner.close(),
    };
    const sink = new CopyingSink(data);
    const zip = new ZipWriter(sink);
    // Gaps between the ranges keep them from joining into one run.
    const ranges = Array.from({ length: 40 }, (_, i) => ({ source, offset: i * 2000, length: 1000 }));
    await zip.writeRecordStream("r", 40 * 1000, ranges);
    await zip.finish();
    const expected = new Uint8Array(ranges.flatMap((r) => [...data.subarray(r.offset, r.offset + r.length)]));
    expect((await recordOf(sink)).crc32).toBe(crc32(expected));
    expect(sink.copies).toBe(40);
    expect(most).toBe(1);
  });

  it("a record's cut is read once however many runs end there", async () => {
    const source = counted(data);
    const record = checksummedRecord(source, 0, 100_000, crc32(data));
    const [a, b] = await Promise.all([record.crc32(0, 40_000), record.crc32(40_000, 100_000)]);
    expect([a, b]).toEqual([crc32(data.subarray(0, 40_000)), crc32(data.subarray(40_000))]);
    expect(source.bytesRead).toBe(40_000);
    await expect(record.crc32(90_000, 100_001)).rejects.toMatchObject({ code: "E_USAGE" });
  });
});
