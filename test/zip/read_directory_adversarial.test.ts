import { execFileSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";
import { WebdcpError } from "../../src/errors/mod.ts";
import { memorySource } from "../../src/storage/byte_source.ts";
import { readZipDirectory, ZipWriter } from "../../src/zip/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

const enc = new TextEncoder();

/** A small torch-style archive and the offsets of its structures. */
async function sample(): Promise<{ bytes: Uint8Array; cd: number; eocd: number; z64: number }> {
  const sink = new BufferSink();
  const zip = new ZipWriter(sink);
  await zip.writeRecord("archive/data.pkl", enc.encode("pickle"));
  await zip.writeRecord("archive/data/0", new Uint8Array(40).fill(7));
  await zip.writeRecord("archive/version", enc.encode("3\n"));
  await zip.finish();
  const bytes = sink.bytes().slice();
  const eocd = bytes.length - 22;
  const z64 = bytes.length - 98;
  const dv = new DataView(bytes.buffer);
  return { bytes, cd: dv.getUint32(eocd + 16, true), eocd, z64 };
}

async function rejection(bytes: Uint8Array): Promise<WebdcpError> {
  try {
    await readZipDirectory(memorySource(bytes, "bad.pt"));
  } catch (e) {
    expect(e).toBeInstanceOf(WebdcpError);
    expect((e as WebdcpError).path).toBe("bad.pt");
    expect(typeof (e as WebdcpError).offset).toBe("number");
    return e as WebdcpError;
  }
  throw new Error("expected readZipDirectory to reject");
}

describe("readZipDirectory() on hostile input", () => {
  it("rejects a file too short for an end record with E_TRUNCATED", async () => {
    expect((await rejection(Uint8Array.of(0x50, 0x4b, 0x05, 0x06))).code).toBe("E_TRUNCATED");
  });

  it("rejects bytes that are not a zip with E_BAD_MAGIC", async () => {
    expect((await rejection(new Uint8Array(5000).fill(0x41))).code).toBe("E_BAD_MAGIC");
  });

  it("rejects every truncation of a valid archive with a typed error", async () => {
    const { bytes } = await sample();
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const e = await rejection(bytes.subarray(0, bytes.length - cut));
      expect(["E_BAD_MAGIC", "E_TRUNCATED", "E_OUT_OF_RANGE", "E_ZIP"]).toContain(e.code);
    }
  });

  it("rejects an entry compressed with another method than deflate with E_UNSUPPORTED", async () => {
    const { bytes, cd } = await sample();
    new DataView(bytes.buffer).setUint16(cd + 10, 12, true); // method = bzip2
    const e = await rejection(bytes);
    expect(e.code).toBe("E_UNSUPPORTED");
    expect(e.offset).toBe(cd + 10);
  });

  it("rejects a deflated entry whose local header says stored with E_ZIP", async () => {
    const { bytes, cd } = await sample();
    new DataView(bytes.buffer).setUint16(cd + 10, 8, true); // central directory: deflate; local header: stored
    expect((await rejection(bytes)).code).toBe("E_ZIP");
  });

  it("rejects an entry count that cannot fit the central directory with E_ZIP", async () => {
    const { bytes, z64 } = await sample();
    new DataView(bytes.buffer).setBigUint64(z64 + 32, 10n ** 12n, true);
    expect((await rejection(bytes)).code).toBe("E_ZIP");
  });

  it("rejects a central directory that runs past the end records with E_OUT_OF_RANGE", async () => {
    const { bytes, z64 } = await sample();
    new DataView(bytes.buffer).setBigUint64(z64 + 40, 10n ** 9n, true);
    expect((await rejection(bytes)).code).toBe("E_OUT_OF_RANGE");
  });

  it("rejects a 64-bit offset beyond any real file with E_OUT_OF_RANGE", async () => {
    const { bytes, z64 } = await sample();
    new DataView(bytes.buffer).setBigUint64(z64 + 48, 2n ** 63n, true);
    expect((await rejection(bytes)).code).toBe("E_OUT_OF_RANGE");
  });

  it("rejects an entry whose data points past the end with E_OUT_OF_RANGE", async () => {
    const { bytes, cd } = await sample();
    const second = cd + 46 + "archive/data.pkl".length;
    new DataView(bytes.buffer).setUint32(second + 42, bytes.length + 100, true);
    const e = await rejection(bytes);
    expect(e.code).toBe("E_OUT_OF_RANGE");
    expect(e.offset).toBe(second + 42);
  });

  it("rejects an entry whose size reaches into the central directory with E_OUT_OF_RANGE", async () => {
    const { bytes, cd } = await sample();
    const second = cd + 46 + "archive/data.pkl".length;
    const dv = new DataView(bytes.buffer);
    dv.setUint32(second + 20, 5000, true);
    dv.setUint32(second + 24, 5000, true);
    expect((await rejection(bytes)).code).toBe("E_OUT_OF_RANGE");
  });

  it("rejects a local header without its signature with E_BAD_MAGIC at that header", async () => {
    const { bytes, cd } = await sample();
    const second = cd + 46 + "archive/data.pkl".length;
    const lho = new DataView(bytes.buffer).getUint32(second + 42, true);
    bytes[lho + 1] = 0;
    const e = await rejection(bytes);
    expect(e.code).toBe("E_BAD_MAGIC");
    expect(e.offset).toBe(lho);
  });

  it("rejects a local header whose name differs from the central directory with E_ZIP", async () => {
    const { bytes } = await sample();
    bytes[30] = "X".charCodeAt(0); // first name byte of archive/data.pkl's local header
    expect((await rejection(bytes)).code).toBe("E_ZIP");
  });

  it("rejects two entries with the same name with E_ZIP", async () => {
    // Python's zipfile only warns about duplicates, so it can write the ambiguous archive for us.
    const script = "import io,sys,warnings,zipfile\nwarnings.simplefilter('ignore')\nb=io.BytesIO()\n" +
      "z=zipfile.ZipFile(b,'w')\nz.writestr('a/x',b'one')\nz.writestr('a/x',b'two')\nz.close()\n" +
      "sys.stdout.buffer.write(b.getvalue())";
    const bytes = new Uint8Array(execFileSync(inject("python"), ["-c", script]));
    expect((await rejection(bytes)).code).toBe("E_ZIP");
  });
});
