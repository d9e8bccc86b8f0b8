import { expect, test } from "vitest";
import { KIND, kindDeclarations } from "../../src/engine/gpu/kinds.ts";
import { MODULE_TEXT } from "../../src/engine/gpu/kernels.ts";
import { SHADER_SOURCES } from "../../src/engine/gpu/shaders.generated.ts";

const declared = (wgsl: string) =>
  [...wgsl.matchAll(/const (KIND_\w+): u32 = (\d+)u;/g)].map((m) => [m[1], Number(m[2])]);

test("the WGSL kind constants are KIND's entries, and the shaders declare none and use no kind literals", () => {
  expect(declared(kindDeclarations())).toEqual(Object.entries(KIND).map(([n, v]) => [`KIND_${n.toUpperCase()}`, v]));
  for (const [name, text] of Object.entries(SHADER_SOURCES)) {
    expect(declared(text), name).toEqual([]);
    expect(text.match(/case\s+\d/g), `${name} switches on kind numbers`).toBeNull();
  }
});

test("every KIND_ name a shader module uses is declared in front of it", () => {
  for (const [entry, text] of Object.entries(MODULE_TEXT)) {
    const names = new Set(declared(text()).map(([n]) => n));
    for (const [used] of text().matchAll(/\bKIND_\w+/g)) expect(names.has(used), `${entry}: ${used}`).toBe(true);
  }
});
