import { UsageError } from "../errors/mod.ts";

/** `--part r/w`: this machine writes the output files whose index i has i % w === r. */
export interface Part {
  index: number;
  count: number;
}

export function parsePart(text: string): Part {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new UsageError("E_USAGE", `--part must be r/w with 0 <= r < w (e.g. 0/4), got '${text}'`);
  }
  return { index, count };
}

export function ownsFile(part: Part | undefined, fileIndex: number): boolean {
  return part === undefined || fileIndex % part.count === part.index;
}

/** The manifest a part leaves in the output folder for `finalize`. */
export function partManifestName(part: Part, ext: "metadata" | "json"): string {
  return `.webdcp-part-${part.index}-of-${part.count}.${ext}`;
}

export const PART_MANIFEST = /^\.webdcp-part-(\d+)-of-(\d+)\.(metadata|json)$/;
