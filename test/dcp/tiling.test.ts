import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkTiling } from "../../src/dcp/mod.ts";
import { type Box, boxNumel, intersectBoxes } from "../../src/tensor/mod.ts";
import { guarded } from "../fuzz/guard.ts";

const kinds = (ps: readonly { kind: string }[]) => [...new Set(ps.map((p) => p.kind))].sort();

/** The rule checked the slow, obvious way (every pair), as the reference the sweep must agree with. */
function pairwiseKinds(shape: readonly number[], boxes: readonly Box[]): string[] {
  const found = new Set<string>();
  const inside: Box[] = [];
  for (const b of boxes) {
    if (b.offsets.length !== shape.length || b.sizes.length !== shape.length) found.add("rank");
    else if (b.offsets.some((o, d) => o < 0 || b.sizes[d] < 0 || o + b.sizes[d] > shape[d])) found.add("out_of_bounds");
    else if (boxNumel(b) > 0) inside.push(b);
  }
  if (shape.length === 0) {
    if (boxes.length !== 1) found.add(boxes.length === 0 ? "gap" : "overlap");
    return [...found].sort();
  }
  let overlap = false;
  for (let i = 0; i < inside.length; i++) {
    for (let j = i + 1; j < inside.length; j++) if (intersectBoxes(inside[i], inside[j])) overlap = true;
  }
  if (overlap) found.add("overlap");
  else if (inside.reduce((n, b) => n + boxNumel(b), 0) < shape.reduce((p, s) => p * s, 1)) found.add("gap");
  return [...found].sort();
}

/** `n` chunks splitting dim `d` of `shape` evenly (the last takes the rest). */
function split(shape: number[], d: number, n: number): Box[] {
  const per = Math.floor(shape[d] / n);
  return Array.from({ length: n }, (_, i) => {
    const offsets = shape.map(() => 0), sizes = [...shape];
    offsets[d] = i * per;
    sizes[d] = i === n - 1 ? shape[d] - i * per : per;
    return { offsets, sizes };
  });
}

describe("checkTiling() on hostile chunk counts", () => {
  it("finds the same kinds of problem as the pairwise check on random small layouts", () => {
    const layout = fc.integer({ min: 0, max: 3 }).chain((rank) =>
      fc.record({
        shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: rank, maxLength: rank }),
        boxes: fc.array(
          fc.record({
            offsets: fc.array(fc.integer({ min: -1, max: 6 }), { minLength: rank, maxLength: rank }),
            sizes: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: rank, maxLength: rank }),
          }),
          { maxLength: 8 },
        ),
      })
    );
    fc.assert(
      fc.property(layout, ({ shape, boxes }) => {
        expect(kinds(checkTiling(shape, boxes))).toEqual(pairwiseKinds(shape, boxes));
      }),
      { numRuns: 3000, seed: 0x711e },
    );
  });

  it("accepts an honest 100k-chunk split and a 300 x 300 grid within the guard", async () => {
    const rows = await guarded(0, () => checkTiling([100_000, 8], split([100_000, 8], 0, 100_000)));
    expect(rows).toEqual({ ok: true, value: [] });
    const grid = split([300, 300], 0, 300).flatMap((r) =>
      split([300, 300], 1, 300).map((c) => ({
        offsets: [r.offsets[0], c.offsets[1]],
        sizes: [r.sizes[0], c.sizes[1]],
      }))
    );
    expect(grid.length).toBe(90_000);
    expect(await guarded(0, () => checkTiling([300, 300], grid))).toEqual({ ok: true, value: [] });
    grid[45_000] = { offsets: [150, 151], sizes: [1, 1] }; // moved one column: an overlap and a gap
    const moved = await guarded(0, () => checkTiling([300, 300], grid));
    expect(moved.ok && kinds(moved.value)).toEqual(["overlap"]);
  });

  it("reports 100k copies of one chunk as one overlap within the guard", async () => {
    const same = Array.from({ length: 100_000 }, () => ({ offsets: [0, 0], sizes: [4, 4] }));
    const out = await guarded(0, () => checkTiling([4, 4], same));
    expect(out.ok && out.value).toEqual([expect.objectContaining({ kind: "overlap" })]);
  });

  it("finds an overlap among 100k chunks of a tensor split along its smaller dimension", async () => {
    const boxes = split([8, 100_000], 1, 100_000);
    expect(await guarded(0, () => checkTiling([8, 100_000], boxes))).toEqual({ ok: true, value: [] });
    boxes.push({ offsets: [7, 99_998], sizes: [1, 1] });
    const out = await guarded(0, () => checkTiling([8, 100_000], boxes));
    expect(out.ok && out.value.map((p) => p.kind)).toEqual(["overlap"]);
  });

  it("checks 3-d layouts split along three dimensions", () => {
    const cube: Box[] = [];
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) cube.push({ offsets: [i, j, k], sizes: [1, 1, 1] });
    }
    expect(checkTiling([4, 4, 4], cube)).toEqual([]);
    cube[63] = { offsets: [3, 3, 2], sizes: [1, 1, 1] };
    expect(kinds(checkTiling([4, 4, 4], cube))).toEqual(["overlap"]);
  });

  /** Unit chunks of `[layers, n, n]`: every layer split into an n x n grid. */
  const unitGrid = (layers: number, n: number): Box[] => {
    const out: Box[] = [];
    for (let i = 0; i < layers; i++) {
      for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out.push({ offsets: [i, j, k], sizes: [1, 1, 1] });
    }
    return out;
  };

  it("checks a 50 x 50 x 50 grid (125k chunks) within the guard, and finds one chunk saved twice", async () => {
    const cube = unitGrid(50, 50);
    // A generous budget for a loaded machine; the pairwise sweep this replaced took over 40 s here.
    const clean = await guarded(0, () => checkTiling([50, 50, 50], cube), 10_000);
    expect(clean).toEqual({ ok: true, value: [] });
    const twice = await guarded(
      0,
      () => checkTiling([50, 50, 50], [...cube, { offsets: [7, 8, 9], sizes: [1, 1, 1] }]),
    );
    expect(twice.ok && kinds(twice.value)).toEqual(["overlap"]);
  });

  it("refuses an irregular 3-d layout too large to sweep with E_UNSUPPORTED within the guard", async () => {
    // Four layers of 150 x 150 unit chunks and one of a single chunk: no grid, 600 chunks on every sweep line.
    const boxes = [...unitGrid(4, 150), { offsets: [4, 0, 0], sizes: [1, 150, 150] }];
    const out = await guarded(0, () => checkTiling([5, 150, 150], boxes), 10_000);
    expect(out.ok && out.value.map((p) => p.code)).toEqual(["E_UNSUPPORTED"]);
    // The same layout, small, is swept and found sound.
    expect(checkTiling([3, 8, 8], [...unitGrid(2, 8), { offsets: [2, 0, 0], sizes: [1, 8, 8] }])).toEqual([]);
  });
});
