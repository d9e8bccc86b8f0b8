import * as z from "../schema/mod.ts";
import { commitDcp, decodeMetadata, mergeMetadata } from "../dcp/mod.ts";
import { FormatError, IntegrityError, StorageError } from "../errors/mod.ts";
import { SAFETENSORS_INDEX_NAME, writeSafetensorsIndex } from "../safetensors/mod.ts";
import { joinPath, pathFromFile } from "../storage/mod.ts";
import type { Location } from "../source/mod.ts";
import { checkPartFiles, PART_MANIFEST, partFilesName } from "../writers/mod.ts";
import type { ProgressCallback } from "../tasks/mod.ts";

/** What `finalize` completed. */
export interface FinalizeReport {
  /** The output's format. */
  format: "dcp" | "safetensors";
  /** How many parts were merged. */
  parts: number;
  /** The file written: `.metadata` or `model.safetensors.index.json`. */
  file: string;
}

const SafetensorsManifest = z.lazySchema(() =>
  z.object({
    shards: z.number().check(z.int(), z.minimum(1)),
    files: z.array(z.string()),
    total_size: z.number().check(z.int(), z.minimum(0)),
    weight_map: z.record(z.string(), z.string()),
  })
);

/**
 * `webdcp finalize <dst>`: once every `--part r/w` run has finished, merges their manifests into the
 * output's `.metadata` (DCP) or `model.safetensors.index.json`, then removes the manifests. Fails, writing
 * nothing and naming every such part, while any part is missing or its files are not those it wrote (sizes,
 * then the storage's version of each file or, where it has none or it changed, the CRC-32 of all its bytes:
 * see `checkPartFiles`).
 */
export async function finalize(dst: Location, opts: { onProgress?: ProgressCallback } = {}): Promise<FinalizeReport> {
  const listing = await dst.storage.list(dst.path);
  if (!listing) throw new StorageError("E_NOT_FOUND", "output folder does not exist", { path: dst.path || "." });
  const manifests = listing.flatMap((e) => {
    const m = PART_MANIFEST.exec(e.name);
    return m ? [{ name: e.name, m }] : [];
  });
  if (manifests.length === 0) {
    throw new StorageError("E_NOT_FOUND", "no part manifests (.webdcp-part-*) to finalize", { path: dst.path || "." });
  }
  const count = Number(manifests[0].m[2]);
  const ext = manifests[0].m[3];
  const byIndex = new Map<number, string>();
  for (const { name, m } of manifests) {
    if (Number(m[2]) !== count || m[3] !== ext) {
      throw new IntegrityError("E_METADATA", `part manifests of different runs are mixed (${name})`, {
        path: dst.path || ".",
      });
    }
    byIndex.set(Number(m[1]), joinPath(dst.path, name));
  }
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    const problem = byIndex.has(i) ? await checkPartFiles(dst, { index: i, count }) : "has not finished";
    if (problem !== undefined) problems.push(`part ${i}/${count}: ${problem}`);
  }
  if (problems.length > 0) {
    throw new IntegrityError(
      "E_GAP",
      `${problems.length} of ${count} parts are missing or incomplete: ${problems.join("; ")}`,
      {
        path: dst.path || ".",
      },
    );
  }
  const paths = [...byIndex].sort(([a], [b]) => a - b).map(([, p]) => p);
  const file = ext === "metadata" ? await finalizeDcp(dst, paths) : await finalizeSafetensors(dst, paths);
  for (const p of paths) await dst.storage.remove(p);
  for (let i = 0; i < count; i++) await dst.storage.remove(joinPath(dst.path, partFilesName({ index: i, count })));
  opts.onProgress?.({ bytesDone: 0, bytesTotal: 0, filesDone: 1, filesTotal: 1 });
  return { format: ext === "metadata" ? "dcp" : "safetensors", parts: count, file };
}

async function finalizeDcp(dst: Location, paths: string[]): Promise<string> {
  const parts = [];
  for (const p of paths) parts.push(decodeMetadata(await dst.storage.readAll(p), p));
  return (await commitDcp(dst.storage, dst.path, mergeMetadata(parts, paths[0]))).path;
}

async function finalizeSafetensors(dst: Location, paths: string[]): Promise<string> {
  const weightMap = new Map<string, string>();
  let totalSize = 0;
  for (const p of paths) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await dst.storage.readAll(p)));
    } catch (e) {
      throw new FormatError("E_METADATA", `part manifest is not JSON: ${(e as Error).message}`, { path: p });
    }
    const parsed = SafetensorsManifest().safeParse(json);
    if (!parsed.success) throw new FormatError("E_METADATA", "malformed part manifest", { path: p });
    for (const f of parsed.data.files) {
      if (!(await dst.storage.stat(joinPath(dst.path, pathFromFile(f, p, "the part manifest names the shard"))))) {
        throw new StorageError("E_NOT_FOUND", `shard ${f} listed by the part is missing`, { path: p });
      }
    }
    // Names from the parsed JSON's own entries: zod's record copy drops a `__proto__` key.
    const names = (json as { weight_map: Record<string, string> }).weight_map;
    for (const [k, f] of Object.entries(names)) weightMap.set(k, f);
    totalSize += parsed.data.total_size;
  }
  const indexPath = joinPath(dst.path, SAFETENSORS_INDEX_NAME);
  await writeSafetensorsIndex(dst.storage, indexPath, { metadata: { total_size: totalSize }, weightMap });
  return indexPath;
}
