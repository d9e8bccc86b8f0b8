import { execFileSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import { memorySource } from "../../src/storage/byte_source.ts";
import type { ByteSource } from "../../src/storage/storage.ts";
import { readZipDirectory, ZipWriter } from "../../src/zip/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

/** Wraps a source and counts the bytes read through it. */
function counting(source: ByteSource): ByteSource & { bytesRead: number } {
  const counted = {
    path: source.path,
    size: source.size,
    bytesRead: 0,
    async read(offset: number, length: number) {
      counted.bytesRead += length;
      return await source.read(offset, length);
    },
    close: () => source.close(),
  };
  return counted;
}

describe("readZipDirectory()", () => {
  it("reads only the end of the archive and the local headers, never the record data", async () => {
    const sink = new BufferSink();
    const zip = new ZipWriter(sink);
    await zip.writeRecord("archive/data.pkl", new Uint8Array(100));
    await zip.writeRecord("archive/data/0", new Uint8Array(1 << 20));
    await zip.writeRecord("archive/version", new TextEncoder().encode("3\n"));
    await zip.finish();
    const source = counting(memorySource(sink.bytes(), "big.pt"));
    const entries = await readZipDirectory(source);
    expect(entries.map((e) => [e.name, e.size])).toEqual([
      ["archive/data.pkl", 100],
      ["archive/data/0", 1 << 20],
      ["archive/version", 2],
    ]);
    expect(source.bytesRead).toBeLessThan(8192);
  });

  it("reads zips written by Python's zipfile, with a comment and sizes in the local headers", () => {
    const script = "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_STORED)\n" +
      "z.writestr('m/a.txt',b'alpha')\nz.writestr('m/\\u00e9t\\u00e9',b'summer'*100)\nz.comment=b'c'*300\nz.close()\n" +
      "sys.stdout.buffer.write(b.getvalue())";
    const bytes = new Uint8Array(execFileSync(inject("python"), ["-c", script]));
    return readZipDirectory(memorySource(bytes, "py.zip")).then((entries) => {
      expect(entries.map((e) => e.name)).toEqual(["m/a.txt", "m/été"]);
      const [a, b] = entries;
      expect(new TextDecoder().decode(bytes.subarray(a.dataOffset, a.dataOffset + a.size))).toBe("alpha");
      expect(new TextDecoder().decode(bytes.subarray(b.dataOffset, b.dataOffset + 6))).toBe("summer");
      expect(b.size).toBe(600);
    });
  });

  it("reports offsets relative to the archive and errors at absolute offsets when given a base", async () => {
    const sink = new BufferSink();
    const zip = new ZipWriter(sink);
    await zip.writeRecord("a/x", new Uint8Array(5));
    await zip.finish();
    const bytes = sink.bytes().slice();
    const [e] = await readZipDirectory(memorySource(bytes, "r.zip"));
    expect(e.localHeaderOffset).toBe(0);
    expect(e.dataOffset).toBe(64);
    bytes[0] = 0; // break the local header signature
    await expect(readZipDirectory(memorySource(bytes, "item.distcp"), { baseOffset: 1000 })).rejects.toMatchObject({
      code: "E_BAD_MAGIC",
      path: "item.distcp",
      offset: 1000,
    });
  });
});
