/**
 * Checks a DCP chunk layout before anything is read or written: chunks inside their tensor, no overlaps,
 * exact tiling when a tensor has several chunks (PyTorch's `_validate_global_plan`), an item for every
 * chunk, item paths that stay inside the checkpoint folder and (optionally) byte ranges inside their files.
 */
import { FormatError, IntegrityError, StorageError, WebdcpError } from "../errors/mod.ts";
import { joinPath, normalizePath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import type { Box } from "../tensor/mod.ts";
import { boxNumel, intersectBoxes, numel } from "../tensor/mod.ts";
import type { DcpMetadata, TensorEntryMeta } from "./metadata.ts";
import { storageKey } from "./metadata.ts";

export interface LayoutCheckOptions {
  /** Require chunks to cover the tensor exactly when there is more than one (default true). */
  requireTiling?: boolean;
  /** File named in errors (the `.metadata` path). */
  path?: string;
}

/** Chunks of one tensor: in bounds, non-overlapping, tiling the tensor when there are several. */
export function checkTensorChunks(fqn: string, entry: TensorEntryMeta, opts: LayoutCheckOptions = {}): void {
  const where = { path: opts.path };
  const rank = entry.size.length;
  for (const c of entry.chunks) {
    if (c.offsets.length !== rank || c.sizes.length !== rank) {
      throw new FormatError("E_SHAPE", `'${fqn}' has a ${c.sizes.length}-d chunk in a ${rank}-d tensor`, where);
    }
    for (let d = 0; d < rank; d++) {
      const [o, s] = [c.offsets[d], c.sizes[d]];
      if (o < 0 || s < 0 || o + s > entry.size[d]) {
        throw new FormatError(
          "E_OUT_OF_RANGE",
          `'${fqn}' chunk at [${c.offsets}] size [${c.sizes}] exceeds tensor size [${entry.size}]`,
          where,
        );
      }
    }
  }
  if (rank === 0) return; // PyTorch skips 0-d tensors: one chunk with empty offsets and sizes
  checkNoOverlap(fqn, entry, where);
  const total = numel(entry.size);
  const covered = entry.chunks.reduce((sum, c) => sum + boxNumel(c), 0);
  const mustTile = entry.chunks.length > 1 ? opts.requireTiling ?? true : entry.chunks.length === 0;
  if (mustTile && covered !== total && total > 0) {
    throw new IntegrityError("E_GAP", `'${fqn}' chunks cover ${covered} of ${total} elements`, where);
  }
}

/** Sweep along the largest dimension so only chunks whose ranges meet there are compared. */
function checkNoOverlap(fqn: string, entry: TensorEntryMeta, where: { path?: string }): void {
  const sweep = entry.size.reduce((best, s, d) => (s > entry.size[best] ? d : best), 0);
  const chunks = entry.chunks.filter((c) => boxNumel(c) > 0).sort((a, b) => a.offsets[sweep] - b.offsets[sweep]);
  const active: Box[] = [];
  for (const c of chunks) {
    const start = c.offsets[sweep];
    for (let i = active.length - 1; i >= 0; i--) {
      const other = active[i];
      if (other.offsets[sweep] + other.sizes[sweep] <= start) active.splice(i, 1);
      else if (intersectBoxes(c, other)) {
        throw new IntegrityError(
          "E_OVERLAP",
          `'${fqn}' chunks at [${other.offsets}] and [${c.offsets}] overlap`,
          where,
        );
      }
    }
    active.push(c);
  }
}

/**
 * The whole metadata: every tensor's chunk layout, an item for every chunk and every BYTE_IO entry, and
 * item paths that stay inside the folder. Returns the normalised relative path of every data file.
 */
export function checkLayout(meta: DcpMetadata, opts: LayoutCheckOptions = {}): Set<string> {
  const where = { path: opts.path };
  for (const [fqn, entry] of meta.stateDictMetadata) {
    if (entry.kind === "bytes") {
      if (!meta.storageData.has(storageKey(fqn, null))) {
        throw new FormatError("E_METADATA", `no storage_data item for BYTE_IO entry '${fqn}'`, where);
      }
      continue;
    }
    checkTensorChunks(fqn, entry, opts);
    for (const c of entry.chunks) {
      if (!meta.storageData.has(storageKey(fqn, c.offsets))) {
        throw new FormatError("E_METADATA", `no storage_data item for '${fqn}' chunk at [${c.offsets}]`, where);
      }
    }
  }
  const files = new Set<string>();
  for (const item of meta.storageData.values()) files.add(itemFile(item.info.relativePath, opts.path));
  return files;
}

/** A `relative_path` normalised, or E_PATH_ESCAPE when it is absolute or leaves the folder. */
export function itemFile(relativePath: string, metadataPath?: string): string {
  let p: string;
  try {
    p = normalizePath(relativePath);
  } catch (e) {
    if (!(e instanceof WebdcpError)) throw e;
    p = "";
  }
  if (p === "") {
    throw new FormatError("E_PATH_ESCAPE", `relative_path '${relativePath}' leaves the checkpoint folder`, {
      path: metadataPath,
    });
  }
  return p;
}

/** Stats every data file and checks that every item's byte range lies inside it; returns the file sizes. */
export async function checkItemRanges(
  storage: Storage,
  dir: string,
  meta: DcpMetadata,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const item of meta.storageData.values()) {
    const rel = itemFile(item.info.relativePath);
    const full = joinPath(dir, rel);
    let size = sizes.get(rel);
    if (size === undefined) {
      const info = await storage.stat(full);
      if (!info) throw new StorageError("E_NOT_FOUND", `data file '${rel}' named by .metadata is missing`, { path: full });
      size = info.size;
      sizes.set(rel, size);
    }
    const { offset, length } = item.info;
    if (offset + length > size) {
      throw new FormatError(
        "E_OUT_OF_RANGE",
        `item '${item.fqn}' spans [${offset}, ${offset + length}) but the file has ${size} bytes`,
        { path: full, offset },
      );
    }
  }
  return sizes;
}

