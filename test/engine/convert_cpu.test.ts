import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { itemsize } from "../../src/dtype/mod.ts";
import { convertCpu } from "../../src/engine/mod.ts";
import { CONVERT_SOURCES, CONVERT_TARGETS } from "../../src/dtype/mod.ts";
import { firstMismatch, makeTorchReference, type TorchReference } from "./torch_reference.ts";

let ref: TorchReference;
beforeAll(() => {
  ref = makeTorchReference(inject("python"));
});
afterAll(() => ref?.remove());

describe("convertCpu() equals torch's .to(dtype) bit for bit", () => {
  for (const from of CONVERT_SOURCES) {
    for (const to of CONVERT_TARGETS) {
      if (from === to) continue;
      const what = itemsize(from) <= 2 ? "every input pattern" : "random values and edges";
      test(`${from} -> ${to} on ${what}`, () => {
        const input = ref.input(from);
        const got = convertCpu(input, from, to);
        expect(firstMismatch(input, itemsize(from), got, ref.output(from, to), itemsize(to))).toBeUndefined();
      });
    }
  }
});

describe("convertCpu() hand-picked edges", () => {
  const f32 = (...bits: number[]) => new Uint8Array(Uint32Array.from(bits).buffer);
  const u16 = (b: Uint8Array) => Array.from(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));

  test("float32 -> bfloat16 rounds ties to even and turns every NaN into 0xFFFF", () => {
    // 1 + 2^-8 is a tie (stays 1.0), 1 + 3*2^-8 is a tie (rounds up to even), a signalling NaN, max finite.
    const out = convertCpu(f32(0x3F808000, 0x3F818000, 0x7F800001, 0x7FC00000, 0x7F7FFFFF), "float32", "bfloat16");
    expect(u16(out)).toEqual([0x3F80, 0x3F82, 0xFFFF, 0xFFFF, 0x7F80]);
  });

  test("float32 -> float16 keeps a NaN's sign and top payload, quieting it", () => {
    const out = convertCpu(f32(0xFFC12345, 0x7F800001, 0x33000000, 0x33000001, 0x477FF000), "float32", "float16");
    expect(u16(out)).toEqual([0xFE09, 0x7E00, 0x0000, 0x0001, 0x7C00]);
  });

  test("float32 -> float8_e4m3fn saturates overflow and infinity at 448; e5m2 overflows to infinity", () => {
    // 65536 is past both formats' largest finite value (448 and 57344).
    const input = f32(0x47800000, 0x7F800000, 0xFF800000, 0x7FC00000);
    expect(Array.from(convertCpu(input, "float32", "float8_e4m3fn"))).toEqual([0x7E, 0x7E, 0xFE, 0x7F]);
    expect(Array.from(convertCpu(input, "float32", "float8_e5m2"))).toEqual([0x7C, 0x7C, 0xFC, 0x7F]);
  });

  test("handles input that does not start on a word boundary", () => {
    const backing = new Uint8Array(9);
    backing.set(f32(0x3F800000, 0x40000000), 1);
    expect(u16(convertCpu(backing.subarray(1), "float32", "bfloat16"))).toEqual([0x3F80, 0x4000]);
  });

  test("same dtype is a copy, not a view", () => {
    const input = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const out = convertCpu(input, "int64", "int64");
    expect(out).toEqual(input);
    expect(out.buffer).not.toBe(input.buffer);
  });
});
