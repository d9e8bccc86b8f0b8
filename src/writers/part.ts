/** `--part r/w`: this machine writes share r of w of the output files (balanced by bytes, see `ownedFiles`). */
export interface Part {
  /** This part's index `r`, 0-based. */
  index: number;
  /** How many parts `w` there are. */
  count: number;
}

/**
 * Which output files a part writes, given every file's size: the largest files first, each to the part with
 * the fewest bytes so far (ties: the lower part, then the lower file index), so parts carry about equal bytes
 * whatever the sizes. Every part derives the same plan, hence the same answer. No part: every file.
 */
export function ownedFiles(part: Part | undefined, sizes: readonly number[]): (fileIndex: number) => boolean {
  if (part === undefined) return () => true;
  const owner = assignFiles(sizes, part.count);
  return (fileIndex) => owner[fileIndex] === part.index;
}

/** The part each file goes to (see `ownedFiles`). */
export function assignFiles(sizes: readonly number[], count: number): number[] {
  const load = new Array<number>(count).fill(0);
  const owner = new Array<number>(sizes.length);
  const order = sizes.map((size, i) => ({ size, i })).sort((a, b) => b.size - a.size || a.i - b.i);
  for (const { size, i } of order) {
    let best = 0;
    for (let p = 1; p < count; p++) if (load[p] < load[best]) best = p;
    owner[i] = best;
    load[best] += size;
  }
  return owner;
}

/** The manifest a part leaves in the output folder for `finalize`. */
export function partManifestName(part: Part, ext: "metadata" | "json"): string {
  return `.webdcp-part-${part.index}-of-${part.count}.${ext}`;
}

/** A part manifest's name: part index, part count and `metadata` (DCP) or `json` (safetensors). */
export const PART_MANIFEST = /^\.webdcp-part-(\d+)-of-(\d+)\.(metadata|json)$/;
