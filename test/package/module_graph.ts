import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** What an entry module pulls in at run time: its modules, and what they import from outside (bare). */
export interface ModuleGraph {
  /** Absolute paths of the modules reachable through relative imports, the entry first. */
  modules: string[];
  /** Each non-relative specifier imported at run time (`zod`, `node:fs/promises`) -> the modules importing it. */
  external: Map<string, string[]>;
  /** Modules with an `import(<expression>)` whose target no reader of the source can know. */
  computed: string[];
}

// `import x from "s"`, `import { a, type b } from "s"`, `export * from "s"`, `export { a } from "s"`; a
// statement that begins `import type` or `export type` is erased by every compiler and is skipped.
const FROM = /^\s*(?:import|export)\s+(type\s+)?[^;"'`]*?\sfrom\s*["']([^"']+)["']/gm;
const BARE_IMPORT = /^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
const DYNAMIC_COMPUTED = /\bimport\(\s*[A-Za-z_$]/;

/**
 * Follows the import statements of ES modules (TypeScript sources or built JavaScript) from `entry`. A text
 * scan, not a parser: it reads the code as tsc and bundlers leave it (one statement per import), which is
 * what it is used on.
 */
export function moduleGraph(entry: string): ModuleGraph {
  const first = resolve(entry);
  const seen = new Set<string>([first]);
  const queue = [first];
  const external = new Map<string, string[]>();
  const computed: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = readFileSync(file, "utf8");
    const specifiers = [
      ...[...text.matchAll(FROM)].filter((m) => m[1] === undefined).map((m) => m[2]),
      ...[...text.matchAll(BARE_IMPORT)].map((m) => m[1]),
      ...[...text.matchAll(DYNAMIC)].map((m) => m[1]),
    ];
    if (DYNAMIC_COMPUTED.test(text)) computed.push(file);
    for (const specifier of specifiers) {
      if (specifier.startsWith("./") || specifier.startsWith("../")) {
        const target = resolve(dirname(file), specifier);
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      } else {
        external.set(specifier, [...(external.get(specifier) ?? []), file]);
      }
    }
  }
  return { modules: [...seen], external, computed };
}
