import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { memorySource } from "../../src/storage/byte_source.ts";
import { crc32, readZipDirectory, ZipWriter } from "../../src/zip/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

const enc = new TextEncoder();

async function archive(records: [string, Uint8Array | Uint8Array[]][], prefix = 0): Promise<Uint8Array> {
  const sink = new BufferSink();
  if (prefix) await sink.write(new Uint8Array(prefix).fill(0xee));
  const zip = new ZipWriter(sink);
  for (const [name, data] of records) await zip.writeRecord(name, data);
  await zip.finish();
  return sink.bytes().slice(prefix);
}

describe("ZipWriter", () => {
  it("writes the local header, FB padding and descriptor torch writes for data.pkl", async () => {
    const bytes = await archive([["archive/data.pkl", new Uint8Array(154)]]);
    const head = [...bytes.subarray(0, 30)];
    expect(head).toEqual([
      0x50,
      0x4b,
      0x03,
      0x04,
      0,
      0,
      0x08,
      0x08,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x10,
      0,
      0x12,
      0,
    ]);
    expect(new TextDecoder().decode(bytes.subarray(30, 46))).toBe("archive/data.pkl");
    expect([...bytes.subarray(46, 50)]).toEqual([0x46, 0x42, 0x0e, 0x00]);
    expect(bytes.subarray(50, 64).every((b) => b === 0x5a)).toBe(true);
    // descriptor right after the 154 data bytes: signature, CRC of 154 zeros, sizes
    const dv = new DataView(bytes.buffer, bytes.byteOffset + 64 + 154, 16);
    expect(dv.getUint32(0, true)).toBe(0x08074b50);
    expect(dv.getUint32(8, true)).toBe(154);
    expect(dv.getUint32(12, true)).toBe(154);
  });

  it("aligns every record's data to 64 bytes relative to the archive start", async () => {
    const names = [
      "archive/data.pkl",
      "archive/.format_version",
      "archive/byteorder",
      "archive/data/0",
      "archive/version",
    ];
    const bytes = await archive(names.map((n, i) => [n, new Uint8Array(i * 37 + 1)]), 13);
    const entries = await readZipDirectory(memorySource(bytes, "a.pt"));
    expect(entries.map((e) => e.name)).toEqual(names);
    for (const e of entries) expect(e.dataOffset % 64).toBe(0);
  });

  it("streams a record from several pieces with the CRC of their concatenation", async () => {
    const pieces = [enc.encode("hello "), enc.encode(""), enc.encode("zip "), enc.encode("world")];
    const bytes = await archive([["archive/data/0", pieces]]);
    const [e] = await readZipDirectory(memorySource(bytes, "p.pt"));
    expect(new TextDecoder().decode(bytes.subarray(e.dataOffset, e.dataOffset + e.size))).toBe("hello zip world");
    expect(e.crc32).toBe(crc32(enc.encode("hello zip world")));
  });

  it("leaves the descriptor out and clears bit 3 for an empty record, as miniz does", async () => {
    const bytes = await archive([["archive/data/0", new Uint8Array(0)], ["archive/version", enc.encode("3\n")]]);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(dv.getUint16(6, true)).toBe(0x0800);
    // the next local header follows the (empty) data directly
    const [empty, version] = await readZipDirectory(memorySource(bytes, "e.pt"));
    expect(version.localHeaderOffset).toBe(empty.dataOffset);
  });

  it("ends with a ZIP64 end record and locator before the classic end record", async () => {
    const bytes = await archive([["archive/version", enc.encode("3\n")]]);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const n = bytes.length;
    expect(dv.getUint32(n - 22, true)).toBe(0x06054b50);
    expect(dv.getUint32(n - 42, true)).toBe(0x07064b50);
    expect(Number(dv.getBigUint64(n - 34, true))).toBe(n - 98);
    expect(dv.getUint32(n - 98, true)).toBe(0x06064b50);
    expect(dv.getUint16(n - 98 + 12, true)).toBe(0x031e);
    expect(dv.getUint16(n - 98 + 14, true)).toBe(0x002d);
  });

  it("produces archives Python's zipfile reads and tests clean", async () => {
    const records: [string, Uint8Array][] = [
      ["archive/data.pkl", enc.encode("pickle bytes")],
      ["archive/data/0", Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff)],
      ["archive/data/1", new Uint8Array(0)],
      ["archive/version", enc.encode("3\n")],
    ];
    const dir = mkdtempSync(join(tmpdir(), "webdcp-zip-"));
    try {
      const file = join(dir, "a.zip");
      writeFileSync(file, await archive(records));
      const script = "import sys,zipfile,hashlib\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n" +
        "for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha1(z.read(i)).hexdigest())";
      const out = execFileSync(inject("python"), ["-c", script, file], { encoding: "utf8" }).trim().split("\n");
      expect(out.map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(records.map(([n, d]) => `${n} ${d.length}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a record whose chunks do not add up to the announced size", async () => {
    const zip = new ZipWriter(new BufferSink());
    await expect(zip.writeRecordStream("a/x", 10, [new Uint8Array(4)])).rejects.toMatchObject({ code: "E_USAGE" });
  });

  it("refuses duplicate record names", async () => {
    const zip = new ZipWriter(new BufferSink());
    await zip.writeRecord("a/x", new Uint8Array(1));
    await expect(zip.writeRecord("a/x", new Uint8Array(1))).rejects.toMatchObject({ code: "E_USAGE" });
  });
});
