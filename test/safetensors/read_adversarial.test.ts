import { describe, it } from "vitest";
import { readSafetensorsHeader } from "../../src/safetensors/mod.ts";
import { memorySource } from "../../src/storage/mod.ts";
import { stFile } from "./helpers.ts";
import { expectCode } from "../storage/storage_spec.ts";

const u8 = (name: string, begin: number, end: number, shape = [end - begin]) =>
  `"${name}":{"dtype":"U8","shape":[${shape}],"data_offsets":[${begin},${end}]}`;
const read = (file: Uint8Array) => readSafetensorsHeader(memorySource(file, "evil.safetensors"));

describe("readSafetensorsHeader() on hostile input", () => {
  it("rejects a file shorter than the length prefix (E_TRUNCATED)", async () => {
    await expectCode(read(Uint8Array.of(8, 0, 0)), "E_TRUNCATED", { path: "evil.safetensors", offset: 0 });
  });

  it("rejects a header length beyond the file (E_OUT_OF_RANGE) without allocating it", async () => {
    await expectCode(read(stFile("{}", [], 1000)), "E_OUT_OF_RANGE", { offset: 0 });
  });

  it("rejects a header length of 2^40 and of 100,000,001 (E_HEADER_TOO_LARGE)", async () => {
    await expectCode(read(stFile("{}", [], 2 ** 40)), "E_HEADER_TOO_LARGE", { offset: 0 });
    await expectCode(read(stFile("{}", [], 100_000_001)), "E_HEADER_TOO_LARGE");
    const max = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d);
    await expectCode(read(max), "E_HEADER_TOO_LARGE");
  });

  it("rejects non-JSON, non-UTF-8, a non-`{` start and trailing garbage after the JSON (E_SAFETENSORS)", async () => {
    await expectCode(read(stFile("{not json}")), "E_SAFETENSORS", { offset: 8 });
    await expectCode(read(stFile("{}\0")), "E_SAFETENSORS");
    const badUtf8 = stFile('{"a"}');
    badUtf8[10] = 0xff;
    await expectCode(read(badUtf8), "E_SAFETENSORS", { offset: 8 });
    await expectCode(read(stFile(" {}")), "E_SAFETENSORS", { offset: 8 });
    await expectCode(read(stFile("[]")), "E_SAFETENSORS");
  });

  it("rejects tensors that overlap (E_OVERLAP) naming the later tensor's header offset", async () => {
    const header = `{${u8("a", 0, 4)},${u8("b", 2, 6)}}`;
    await expectCode(read(stFile(header, new Array(6).fill(0))), "E_OVERLAP", { offset: 8 + header.indexOf('"b"') });
  });

  it("rejects a hole between tensors and one before the first (E_SAFETENSORS)", async () => {
    await expectCode(read(stFile(`{${u8("a", 0, 2)},${u8("b", 3, 4)}}`, [0, 0, 0, 0])), "E_SAFETENSORS");
    await expectCode(read(stFile(`{${u8("a", 1, 2)}}`, [0, 0])), "E_SAFETENSORS");
  });

  it("rejects offsets past the end of the file (E_OUT_OF_RANGE)", async () => {
    await expectCode(read(stFile(`{${u8("a", 0, 9)}}`, [1, 2, 3])), "E_OUT_OF_RANGE", { offset: 9 });
  });

  it("rejects end < begin and a byte length that does not match the shape (E_SAFETENSORS)", async () => {
    await expectCode(read(stFile(`{${u8("a", 2, 1, [0])}}`, [1, 2])), "E_SAFETENSORS");
    await expectCode(read(stFile(`{${u8("a", 0, 3, [2])}}`, [1, 2, 3])), "E_SAFETENSORS");
    const f32 = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}';
    await expectCode(read(stFile(f32, [0, 0, 0, 0])), "E_SAFETENSORS");
  });

  it("rejects bytes after the last tensor, also for an empty header (E_SAFETENSORS)", async () => {
    await expectCode(read(stFile(`{${u8("a", 0, 1)}}`, [1, 2])), "E_SAFETENSORS");
    await expectCode(read(stFile("{}", [1])), "E_SAFETENSORS");
  });

  it("rejects unknown and unsupported dtypes (E_DTYPE)", async () => {
    await expectCode(read(stFile('{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,1]}}', [0])), "E_DTYPE", {
      offset: 9,
    });
    await expectCode(read(stFile('{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', [0])), "E_DTYPE");
  });

  it("rejects duplicate names, even with identical entries the reference would silently merge", async () => {
    const entry = u8("a", 0, 1);
    await expectCode(read(stFile(`{${entry},${entry}}`, [1])), "E_SAFETENSORS", { offset: 8 + entry.length + 2 });
    await expectCode(read(stFile('{"__metadata__":{},"__metadata__":{}}')), "E_SAFETENSORS");
  });

  it("rejects numbers the reference's usize fields refuse: floats, negatives, exponents, > 2^53", async () => {
    for (const bad of ["1.0", "-1", "1e0"]) {
      await expectCode(
        read(stFile(`{"a":{"dtype":"U8","shape":[${bad}],"data_offsets":[0,1]}}`, [1])),
        "E_SAFETENSORS",
      );
    }
    await expectCode(
      read(stFile('{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,1]}}', [1])),
      "E_SAFETENSORS",
    );
  });

  it("rejects absurd shapes whose element count overflows (E_SHAPE)", async () => {
    await expectCode(
      read(stFile('{"a":{"dtype":"U64","shape":[4294967296,4294967296],"data_offsets":[0,1]}}', [1])),
      "E_SHAPE",
    );
  });

  it("rejects malformed entries: missing fields, wrong types, non-string metadata (E_SAFETENSORS)", async () => {
    await expectCode(read(stFile('{"a":{"dtype":"U8","shape":[1]}}')), "E_SAFETENSORS");
    await expectCode(read(stFile('{"a":"x"}')), "E_SAFETENSORS");
    await expectCode(read(stFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', [1])), "E_SAFETENSORS");
    await expectCode(read(stFile('{"__metadata__":{"k":1}}')), "E_SAFETENSORS", { offset: 9 });
    await expectCode(read(stFile('{"__metadata__":{"k":{"n":"v"}}}')), "E_SAFETENSORS");
  });
});
