/**
 * `node:fs/promises`, loaded on first use: Deno and Node have it, browsers do not, and a static import would
 * keep `mod.ts` (which exports `FileStorage`) from loading in a browser page at all.
 */
type NodeFs = typeof import("node:fs/promises");

let loaded: Promise<NodeFs> | undefined;

export function nodeFs(): Promise<NodeFs> {
  loaded ??= import("node:fs/promises");
  return loaded;
}
