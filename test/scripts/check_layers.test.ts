import { expect, test } from "vitest";
import { checkLayers, readTree } from "../../scripts/check-layers.ts";

const src = new URL("../../src", import.meta.url).pathname;

test("check-layers passes the source tree", () => {
  expect(checkLayers(readTree(src))).toEqual([]);
});

test("check-layers catches an upward import, a same-layer import and a reach into another folder's inner file", () => {
  const files = new Map([
    ["dtype/dtype.ts", 'import { convert } from "../jobs/mod.ts";'],
    ["pickle/decode.ts", 'import type { ZipEntry } from "../zip/mod.ts";'],
    ["jobs/verify.ts", 'import { checkTiling } from "../dcp/tiling.ts";\nimport { openDcp } from "../dcp/mod.ts";'],
    ["loader/load.ts", 'const m = await import("../source/open.ts");'],
    [
      "storage/file/file_storage.ts",
      'import { joinPath } from "../path.ts";\nimport { UsageError } from "../../errors/mod.ts";',
    ],
  ]);
  expect(checkLayers(files).map((v) => [v.file, v.imports])).toEqual([
    ["dtype/dtype.ts", "../jobs/mod.ts"],
    ["pickle/decode.ts", "../zip/mod.ts"],
    ["jobs/verify.ts", "../dcp/tiling.ts"],
    ["loader/load.ts", "../source/open.ts"],
  ]);
});

test("check-layers refuses a folder that is in no layer", () => {
  expect(checkLayers(new Map([["nowhere/thing.ts", ""]]))).toMatchObject([{
    why: "folder nowhere is in no layer of LAYERS",
  }]);
});
