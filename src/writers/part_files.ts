import { z } from "zod";
import { joinPath, pathFromFile } from "../storage/mod.ts";
import { crc32 } from "../zip/mod.ts";
import type { Location } from "../source/mod.ts";
import type { Part } from "./part.ts";

/**
 * What a `--part` run wrote, for `finalize` to check before it commits: every file with its size and the
 * CRC-32 of its last bytes (a DCP rank file ends with its zip directory, which holds every record's CRC, so
 * that tail stands for the whole file; any file's tail is what a writer stores last). Written after the files
 * and before the part's manifest, so a manifest always has its list.
 */
export interface PartFile {
  /** Name relative to the output folder. */
  file: string;
  size: number;
  tailCrc32: number;
}

/** Bytes at the end of each file whose CRC-32 the list keeps. */
const TAIL_BYTES = 64 << 10;

const PartFiles = z.object({
  files: z.array(z.object({ file: z.string(), size: z.number().int().min(0), tailCrc32: z.number().int() })),
});

export function partFilesName(part: Part): string {
  return `.webdcp-part-${part.index}-of-${part.count}.files.json`;
}

/** Records `files` (paths in `dst.storage`, inside `dst.path`) as this part's output. */
export async function recordPartFiles(dst: Location, part: Part, files: readonly string[]): Promise<string> {
  const out: PartFile[] = [];
  for (const path of files) {
    const info = await tailOf(dst, path);
    out.push({ file: relative(dst, path), ...info });
  }
  const listPath = joinPath(dst.path, partFilesName(part));
  await dst.storage.writeAll(listPath, new TextEncoder().encode(JSON.stringify({ files: out }, null, 1)));
  return listPath;
}

/** Why the part's output is not complete (its list missing or unreadable, a file missing or changed), or undefined. */
export async function checkPartFiles(dst: Location, part: Part): Promise<string | undefined> {
  const listPath = joinPath(dst.path, partFilesName(part));
  if (!(await dst.storage.stat(listPath))) return `no ${partFilesName(part)}: the part did not finish`;
  let list: z.infer<typeof PartFiles>;
  try {
    list = PartFiles.parse(JSON.parse(new TextDecoder().decode(await dst.storage.readAll(listPath))));
  } catch {
    return `${partFilesName(part)} is malformed`;
  }
  for (const f of list.files) {
    const path = joinPath(dst.path, pathFromFile(f.file, listPath, "the part's file list names"));
    const info = await dst.storage.stat(path);
    if (!info) return `${f.file} is missing`;
    if (info.size !== f.size) return `${f.file} has ${info.size} bytes, the part wrote ${f.size}`;
    if ((await tailOf(dst, path)).tailCrc32 !== f.tailCrc32) {
      return `${f.file} is not the file the part wrote (CRC-32 of its end differs)`;
    }
  }
  return undefined;
}

async function tailOf(dst: Location, path: string): Promise<{ size: number; tailCrc32: number }> {
  const source = await dst.storage.open(path);
  try {
    const length = Math.min(TAIL_BYTES, source.size);
    return { size: source.size, tailCrc32: crc32(await source.read(source.size - length, length)) };
  } finally {
    await source.close();
  }
}

function relative(dst: Location, path: string): string {
  return dst.path === "" ? path : path.slice(dst.path.length + 1);
}
