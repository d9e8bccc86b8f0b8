import { afterAll, describe, expect, test } from "vitest";
import { CONVERT_SOURCES, CONVERT_TARGETS, itemsize } from "../../src/dtype/mod.ts";
import { CastArena } from "../../src/engine/cpu/cast_arena.ts";
import { CAST_LAYOUT, CAST_SCRATCH, castSimd, lightCast } from "../../src/engine/cpu/cast_simd.ts";
import { convertCpu, convertCpuTwin, lookupTable } from "../../src/engine/cpu/convert.ts";
import { createCpuEngine } from "../../src/engine/mod.ts";
import { CastPool } from "../../src/engine/pool/cast_pool.ts";
import { firstMismatch } from "./torch_reference.ts";
import { randomWords } from "./random.ts";

const PAIRS = CONVERT_SOURCES.flatMap((from) => CONVERT_TARGETS.filter((to) => to !== from).map((to) => [from, to]));
/** Around a kernel's step of 16 elements and its scratch chunk. */
const LENGTHS = [1, 15, 16, 17, 33, CAST_LAYOUT.chunk + 5, 2 * CAST_LAYOUT.chunk + 16];
const GUARD = 64;

/** A buffer of the arena holding random bytes, with GUARD bytes of 0xA5 on each side of the returned view. */
function arenaBytes(arena: CastArena, bytes: number, seed: number): Uint8Array {
  const block = arena.allocate(bytes + 2 * GUARD)!;
  block.set(new Uint8Array(randomWords(Math.ceil(bytes / 4) + 1, seed).buffer, 0, bytes), GUARD);
  block.fill(0xA5, 0, GUARD).fill(0xA5, GUARD + bytes);
  return block.subarray(GUARD, GUARD + bytes);
}

/** Gives the block of a view from `arenaBytes` (or a subarray of one starting within `slack` bytes) back. */
function releaseArenaBytes(arena: CastArena, view: Uint8Array, slack = 0): void {
  arena.release(new Uint8Array(view.buffer, view.byteOffset - slack - GUARD, 0));
}

/** The GUARD bytes on each side of a view from `arenaBytes` are still 0xA5. */
function guardsIntact(view: Uint8Array): boolean {
  const around = new Uint8Array(view.buffer, view.byteOffset - GUARD, view.byteLength + 2 * GUARD);
  return [...around.subarray(0, GUARD), ...around.subarray(GUARD + view.byteLength)].every((b) => b === 0xA5);
}

describe("CastArena", () => {
  test("hands out page-aligned blocks first fit, reuses what is given back and merges free neighbours", () => {
    const arena = CastArena.create(false, 1 << 20)!;
    const scratchEnd = CAST_SCRATCH; // the arena's own scratch area comes first
    const a = arena.allocate(1)!, b = arena.allocate(5000)!, c = arena.allocate(4096)!;
    expect([a, b, c].map((v) => arena.addressOf(v))).toEqual([scratchEnd, scratchEnd + 4096, scratchEnd + 3 * 4096]);
    expect(b.byteLength).toBe(5000);
    arena.release(a);
    arena.release(b);
    // a's and b's blocks merged: 3 pages at the old address of a.
    expect(arena.addressOf(arena.allocate(3 * 4096)!)).toBe(scratchEnd);
    expect(arena.allocate(1 << 20)).toBeUndefined();
    arena.release(c);
    expect(arena.addressOf(arena.allocate((1 << 20) - scratchEnd - 3 * 4096)!)).toBe(scratchEnd + 3 * 4096);
  });

  test("ignores views it did not hand out", () => {
    const arena = CastArena.create(false, 1 << 20)!;
    const a = arena.allocate(4096)!;
    arena.release(new Uint8Array(4096));
    arena.release(a.subarray(16)); // not a block's start
    expect(arena.addressOf(arena.allocate(4096)!)).toBe(arena.addressOf(a)! + 4096);
  });

  for (const shared of [false, true]) {
    test(`${shared ? "shared" : "private"}: every cast between its buffers equals the twin, writes nothing past either end, and a light one reads in place`, () => {
      const arena = CastArena.create(shared, 8 << 20)!;
      expect(arena.memory.buffer instanceof SharedArrayBuffer).toBe(shared);
      const scratch = new Uint8Array(arena.memory.buffer, arena.here.scratch, CAST_LAYOUT.output);
      for (const [from, to] of PAIRS) {
        for (const [k, n] of LENGTHS.entries()) {
          // Starting one element into a block: addresses off the page boundary work too.
          const src = arenaBytes(arena, (n + 1) * itemsize(from), k).subarray(itemsize(from));
          const dest = arenaBytes(arena, n * itemsize(to), 100 + k);
          scratch.fill(0x5A);
          const results = () => lookupTable(from as "float16", to as "float32");
          expect(castSimd(src, itemsize(from), from, to, dest, itemsize(to), results, arena)).toBe(true);
          const want = convertCpuTwin(src, from, to);
          expect(firstMismatch(src, itemsize(from), dest, want, itemsize(to)), `${from} -> ${to}, ${n}`)
            .toBeUndefined();
          expect(guardsIntact(dest), `${from} -> ${to}, ${n}`).toBe(true);
          // A light cast reads whole groups of 16 where they lie, never through the scratch area's input region.
          if (n % 16 === 0 && lightCast(`${from}_${to}`)) {
            expect(scratch.every((b) => b === 0x5A), `${from} -> ${to}, ${n}`).toBe(true);
          }
          releaseArenaBytes(arena, src, itemsize(from));
          releaseArenaBytes(arena, dest);
        }
      }
    });
  }

  test("castSimd() casts views outside the arena through scratch, and declines a cast without a kernel", () => {
    const arena = CastArena.create(false, 1 << 20)!;
    const inside = arena.allocate(64)!;
    const outside = new Uint8Array(new Float32Array([1, -2, 0.5, 3]).buffer);
    const none = () => new Uint32Array(0);
    expect(castSimd(outside, 4, "float32", "bfloat16", inside.subarray(0, 8), 2, none, arena)).toBe(true);
    expect([...new Uint16Array(inside.slice(0, 8).buffer)]).toEqual([0x3F80, 0xC000, 0x3F00, 0x4040]);
    expect(castSimd(inside, 4, "float32", "float32", arena.allocate(64)!, 4, none, arena)).toBe(false);
  });
});

describe("engines and the pool cast arena buffers in place, with the bits of convertCpu()", () => {
  const pool = new CastPool(2);
  afterAll(() => pool.close());

  test("the pool, on buffers of its arena, for every cast", async () => {
    for (const [from, to] of PAIRS) {
      const n = 300_007;
      const src = arenaBytes(pool.arena, n * itemsize(from), 7);
      const out = arenaBytes(pool.arena, n * itemsize(to), 8);
      await pool.convert(src, from, to, out);
      expect(
        firstMismatch(src, itemsize(from), out, convertCpu(src.slice(), from, to), itemsize(to)),
        `${from} -> ${to}`,
      )
        .toBeUndefined();
      expect(guardsIntact(out), `${from} -> ${to}`).toBe(true);
      releaseArenaBytes(pool.arena, src);
      releaseArenaBytes(pool.arena, out);
    }
  });

  for (const workers of [0, 2]) {
    test(`createCpuEngine({ workers: ${workers} }) on its own buffers, for every cast`, async () => {
      const engine = createCpuEngine({ workers });
      try {
        for (const [from, to] of PAIRS) {
          const n = 200_003;
          const src = engine.buffer!(n * itemsize(from))!;
          src.set(new Uint8Array(randomWords(Math.ceil(n * itemsize(from) / 4), 3).buffer, 0, src.byteLength));
          const out = engine.buffer!(n * itemsize(to))!;
          expect(await engine.convert(src, from, to, out)).toBe(out);
          expect(firstMismatch(src, itemsize(from), out, convertCpu(src.slice(), from, to), itemsize(to)))
            .toBeUndefined();
          engine.releaseBuffer!(src);
          engine.releaseBuffer!(out);
        }
      } finally {
        engine.dispose();
      }
    });
  }
});
