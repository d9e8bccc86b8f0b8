import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planRanges, type WantedRange } from "../../src/storage/range_plan.ts";

describe("planRanges()", () => {
  it("merges ranges that touch or lie within maxGap, per file, keeping each range's tag", () => {
    const wanted: WantedRange<string>[] = [
      { path: "b", offset: 0, length: 10, tag: "b0" },
      { path: "a", offset: 100, length: 10, tag: "a2" },
      { path: "a", offset: 0, length: 10, tag: "a0" },
      { path: "a", offset: 10, length: 5, tag: "a1" },
      { path: "a", offset: 300, length: 1, tag: "a3" },
    ];
    const plan = planRanges(wanted, { maxGap: 85 });
    expect(plan.map((r) => [r.path, r.offset, r.length, r.members.map((m) => m.tag)])).toEqual([
      ["b", 0, 10, ["b0"]],
      ["a", 0, 110, ["a0", "a1", "a2"]],
      ["a", 300, 1, ["a3"]],
    ]);
  });

  it("covers every range by one request of its file, and keeps neighbours apart only past maxGap or maxLength", () => {
    const range = fc.record({
      path: fc.constantFrom("x", "y", "z"),
      offset: fc.nat(5000),
      length: fc.nat(700),
    });
    fc.assert(
      fc.property(
        fc.array(range, { maxLength: 40 }),
        fc.nat(300),
        fc.integer({ min: 1, max: 2000 }),
        (wanted, maxGap, maxLength) => {
          const plan = planRanges(wanted, { maxGap, maxLength });
          for (const w of wanted) {
            const holders = plan.filter((r) => r.members.includes(w));
            expect(holders).toHaveLength(1);
            const r = holders[0];
            expect(r.path === w.path && r.offset <= w.offset && w.offset + w.length <= r.offset + r.length).toBe(true);
          }
          for (const r of plan) {
            if (r.members.length > 1) expect(r.length).toBeLessThanOrEqual(maxLength);
            expect(r.offset).toBe(Math.min(...r.members.map((m) => m.offset)));
            expect(r.offset + r.length).toBe(Math.max(...r.members.map((m) => m.offset + m.length)));
          }
          for (const path of ["x", "y", "z"]) {
            const mine = plan.filter((r) => r.path === path).sort((a, b) => a.offset - b.offset);
            // Neighbours stay apart only when they lie more than maxGap apart or together would break maxLength.
            for (let i = 1; i < mine.length; i++) {
              const prev = mine[i - 1], next = mine[i];
              const gap = next.offset - (prev.offset + prev.length);
              const merged = Math.max(prev.offset + prev.length, next.offset + next.length) - prev.offset;
              expect(gap > maxGap || merged > maxLength).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses negative offsets and a non-positive maxLength", () => {
    expect(() => planRanges([{ path: "a", offset: -1, length: 1 }])).toThrow(/invalid range/);
    expect(() => planRanges([], { maxLength: 0 })).toThrow(/maxLength/);
  });
});
