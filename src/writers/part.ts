/** `--part r/w`: this machine writes the output files whose index i has i % w === r. */
export interface Part {
  /** This part's index `r`, 0-based. */
  index: number;
  /** How many parts `w` there are. */
  count: number;
}

/** Whether the part writes output file `fileIndex` (with no part, every file is written). */
export function ownsFile(part: Part | undefined, fileIndex: number): boolean {
  return part === undefined || fileIndex % part.count === part.index;
}

/** The manifest a part leaves in the output folder for `finalize`. */
export function partManifestName(part: Part, ext: "metadata" | "json"): string {
  return `.webdcp-part-${part.index}-of-${part.count}.${ext}`;
}

/** A part manifest's name: part index, part count and `metadata` (DCP) or `json` (safetensors). */
export const PART_MANIFEST = /^\.webdcp-part-(\d+)-of-(\d+)\.(metadata|json)$/;
