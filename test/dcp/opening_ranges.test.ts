import { describe, expect, it } from "vitest";
import type { DcpMetadata, StorageEntry } from "../../src/dcp/mod.ts";
import { openingRanges } from "../../src/dcp/mod.ts";
import { ENDS_WINDOW } from "../../src/torch/mod.ts";

const W = ENDS_WINDOW;

/** Metadata whose storage_data holds these items (the rest of the metadata is not read). */
function withItems(items: [fqn: string, offsets: number[] | null, file: string, offset: number, length: number][]) {
  const storageData = new Map<string, StorageEntry>(
    items.map(([fqn, offsets, relativePath, offset, length], i) => [
      String(i),
      { fqn, offsets, info: { relativePath, offset, length } } as StorageEntry,
    ]),
  );
  return { storageData } as unknown as DcpMetadata;
}

describe("openingRanges()", () => {
  it("asks for both ends of a large item and the whole of an item of at most two windows", () => {
    const meta = withItems([
      ["big", [0], "__0_0.distcp", 0, 10 * W],
      ["small", [0], "__0_0.distcp", 10 * W, 2 * W],
    ]);
    expect(openingRanges(meta, "ckpt")).toEqual([
      { path: "ckpt/__0_0.distcp", offset: 0, length: W },
      { path: "ckpt/__0_0.distcp", offset: 9 * W, length: W },
      { path: "ckpt/__0_0.distcp", offset: 10 * W, length: 2 * W },
    ]);
  });

  it("skips values and unselected items, but asks once for the head of a file none of whose items it opens", () => {
    const meta = withItems([
      ["opt", null, "__0_0.distcp", 0, 100],
      ["a", [0], "__0_0.distcp", 100, 100],
      ["b", [0], "__1_0.distcp", 0, 3 * W],
    ]);
    expect(openingRanges(meta, "", { select: (n) => n === "a" })).toEqual([
      { path: "__0_0.distcp", offset: 100, length: 100 },
      { path: "__1_0.distcp", offset: 0, length: W },
    ]);
  });

  it("stops taking items, in file and offset order, once their ends would pass maxBytes", () => {
    const meta = withItems([
      ["c", [0], "__1_0.distcp", 0, 4 * W],
      ["b", [1], "__0_0.distcp", 4 * W, 4 * W],
      ["a", [0], "__0_0.distcp", 0, 4 * W],
    ]);
    const got = openingRanges(meta, "", { maxBytes: 5 * W });
    expect(got).toEqual([
      { path: "__0_0.distcp", offset: 0, length: W },
      { path: "__0_0.distcp", offset: 3 * W, length: W },
      { path: "__0_0.distcp", offset: 4 * W, length: W },
      { path: "__0_0.distcp", offset: 7 * W, length: W },
      { path: "__1_0.distcp", offset: 0, length: W },
    ]);
  });
});
