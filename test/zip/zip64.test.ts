import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import type { ByteSink, ByteSource } from "../../src/storage/storage.ts";
import { readZipDirectory, ZipWriter } from "../../src/zip/mod.ts";

/**
 * Writes to a sparse file. The test streams its big record as zero-filled chunks of 64 MiB, so chunks of
 * that size become holes and the 4 GiB archive costs no disk; headers and small records are written.
 */
function sparseFileSink(path: string): ByteSink & { done(): void } {
  const fd = openSync(path, "w+");
  let position = 0;
  return {
    path,
    get position() {
      return position;
    },
    write(bytes: Uint8Array) {
      if (bytes.length < HOLE_CHUNK) writeSync(fd, bytes, 0, bytes.length, position);
      position += bytes.length;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    abort: () => Promise.resolve(),
    done() {
      ftruncateSync(fd, position);
      closeSync(fd);
    },
  };
}

function fileSource(path: string, size: number): ByteSource {
  const fd = openSync(path, "r");
  return {
    path,
    size,
    read(offset: number, length: number) {
      const out = new Uint8Array(length);
      readSync(fd, out, 0, length, offset);
      return Promise.resolve(out);
    },
    close() {
      closeSync(fd);
      return Promise.resolve();
    },
  };
}

const BIG = 2 ** 32 + 100;
const HOLE_CHUNK = 64 << 20;

function* zeroChunks(total: number): Generator<Uint8Array> {
  const zeros = new Uint8Array(HOLE_CHUNK);
  for (let left = total; left > 0; left -= HOLE_CHUNK) yield left >= HOLE_CHUNK ? zeros : new Uint8Array(left);
}

describe("ZipWriter and readZipDirectory() past 4 GiB", () => {
  it("write ZIP64 extras that Python's zipfile and our reader both resolve", async () => {
    const dir = mkdtempSync(join(tmpdir(), "webdcp-zip64-"));
    try {
      const file = join(dir, "big.zip");
      const sink = sparseFileSink(file);
      const zip = new ZipWriter(sink);
      await zip.writeRecordStream("archive/data/0", BIG, zeroChunks(BIG));
      await zip.writeRecord("archive/version", new TextEncoder().encode("3\n"));
      const written = await zip.finish();
      sink.done();
      expect(written[1].localHeaderOffset).toBeGreaterThan(2 ** 32);
      expect(written[1].dataOffset % 64).toBe(0);

      const source = fileSource(file, sink.position);
      const entries = await readZipDirectory(source);
      await source.close();
      expect(entries).toEqual(written);

      const script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\n" +
        "for i in z.infolist(): print(i.filename, i.file_size, i.header_offset)\n" +
        "print(z.read('archive/version'))\nz.open('archive/data/0').close()";
      const out = execFileSync(inject("python"), ["-c", script, file], { encoding: "utf8" }).trim().split("\n");
      expect(out).toEqual([
        `archive/data/0 ${BIG} 0`,
        `archive/version 2 ${written[1].localHeaderOffset}`,
        "b'3\\n'",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
