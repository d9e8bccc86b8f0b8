/**
 * The import-direction check: every folder of src/ sits in one layer of `LAYERS`, and a file may import
 * only its own folder or the `mod.ts` of a folder in a lower layer (never a higher or same-layer folder,
 * never another folder's inner files). Run: npx deno run --allow-read scripts/check-layers.ts
 * (scripts/test.sh does; test/scripts/check_layers.test.ts shows it catches violations).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { posix } from "node:path";

/** The layers, lowest first: the one definition of which folder may import which. */
export const LAYERS: readonly (readonly string[])[] = [
  ["errors", "schema"],
  ["limits"],
  ["dtype", "tasks"],
  ["tensor"],
  ["storage"],
  ["pickle", "zip"],
  ["torch", "safetensors"],
  ["dcp"],
  ["adapters", "source"],
  ["engine"],
  ["pipeline"],
  ["writers"],
  ["jobs", "loader", "manager"],
  ["cache"],
  ["cli"],
];

/** One import that breaks the layering. */
export interface LayerViolation {
  file: string;
  imports: string;
  why: string;
}

const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as [string, number])));

/** The relative imports (static, dynamic and re-exports) of a TypeScript file. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
}

/** Checks files given as paths relative to src/ (posix separators) with their text. */
export function checkLayers(files: ReadonlyMap<string, string>): LayerViolation[] {
  const out: LayerViolation[] = [];
  for (const [file, text] of files) {
    const folder = file.split("/")[0];
    const layer = layerOf.get(folder);
    if (!file.includes("/")) continue;
    if (layer === undefined) {
      out.push({ file, imports: "", why: `folder ${folder} is in no layer of LAYERS` });
      continue;
    }
    for (const spec of importsOf(text)) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      if (target.startsWith("..")) continue;
      const to = target.split("/")[0];
      if (to === folder) continue;
      const toLayer = layerOf.get(to);
      if (toLayer === undefined) out.push({ file, imports: spec, why: `${to} is in no layer` });
      else if (toLayer >= layer) {
        out.push({ file, imports: spec, why: `${folder} (layer ${layer}) may not import ${to} (layer ${toLayer})` });
      } else if (target !== `${to}/mod.ts` && !/^[a-z_]+\/[a-z_0-9]+\/mod\.ts$/.test(target)) {
        // A folder's entry is its mod.ts; a backend folder inside it (storage/file) has its own, which host
        // code imports where the folder's entry leaves it out (node:fs stays out of storage/mod.ts).
        out.push({ file, imports: spec, why: `imports ${to}'s inner file ${target}, not ${to}/mod.ts` });
      }
    }
  }
  return out;
}

/** Every .ts file under `dir`, keyed by its path relative to `dir`. */
export function readTree(dir: string, prefix = ""): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(posix.join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(posix.join(dir, rel)).isDirectory()) { for (const [k, v] of readTree(dir, rel)) files.set(k, v); }
    else if (name.endsWith(".ts")) files.set(rel, readFileSync(posix.join(dir, rel), "utf8"));
  }
  return files;
}

if (import.meta.main) {
  const src = new URL("../src", import.meta.url).pathname;
  const violations = checkLayers(readTree(src));
  for (const v of violations) console.error(`src/${v.file}: ${v.imports ? `"${v.imports}": ` : ""}${v.why}`);
  if (violations.length > 0) {
    console.error(`${violations.length} import(s) break the layering (scripts/check-layers.ts)`);
    Deno.exit(1);
  }
  console.log("layers: every import points down, through mod.ts");
}
