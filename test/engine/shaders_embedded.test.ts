import { expect, test } from "vitest";
import { SHADER_SOURCES } from "../../src/engine/gpu/shaders.generated.ts";
import { renderShaderModule } from "../../scripts/embed-shaders.ts";
import { readFileSync } from "node:fs";

const root = new URL("../../", import.meta.url).pathname;

test("the embedded shader module is regenerated from shaders/*.wgsl (run scripts/embed-shaders.ts)", () => {
  expect(readFileSync(`${root}src/engine/gpu/shaders.generated.ts`, "utf8")).toBe(renderShaderModule(`${root}shaders`));
  expect(SHADER_SOURCES.convert).toBe(readFileSync(`${root}shaders/convert.wgsl`, "utf8"));
  expect(Object.keys(SHADER_SOURCES).sort()).toEqual(["convert", "region_copy", "row_gather"]);
});
