import { expect, test } from "vitest";
import { rankFileName, rankOfFileName } from "../../src/dcp/mod.ts";

test("rankFileName() names rank files as torch's FileSystemWriter does, and rankOfFileName() reads them back", () => {
  expect(rankFileName(0)).toBe("__0_0.distcp");
  expect(rankFileName(12)).toBe("__12_0.distcp");
  for (const r of [0, 3, 1023]) expect(rankOfFileName(rankFileName(r))).toBe(r);
  expect(rankOfFileName("__2_1.distcp")).toBe(2);
  for (const other of [".metadata", "__0.metadata", "x__1_0.distcp", "__a_0.distcp", "__1_0.distcp.tmp"]) {
    expect(rankOfFileName(other), other).toBeUndefined();
  }
});
