/**
 * Merges rank-local `__<r>.metadata` files (PyTorch's experimental `use_collectives=False` save) into one
 * `DcpMetadata`: each file describes only its rank's items and chunks.
 */
import { FormatError } from "../errors/mod.ts";
import type { DcpMetadata, EntryMeta, StatePath, StorageEntry } from "./metadata.ts";

/** Merges rank-local or per-part metadata into one (E_METADATA when they disagree about an entry). */
export function mergeMetadata(parts: readonly DcpMetadata[], path?: string): DcpMetadata {
  const stateDictMetadata = new Map<string, EntryMeta>();
  const storageData = new Map<string, StorageEntry>();
  let plannerData: Map<string, StatePath> | null = null;
  const chunksOf = new Map<string, Set<string>>();
  for (const part of parts) {
    for (const [fqn, e] of part.stateDictMetadata) {
      const seen = stateDictMetadata.get(fqn);
      if (!seen) {
        stateDictMetadata.set(fqn, e.kind === "tensor" ? { ...e, chunks: [...e.chunks] } : e);
        continue;
      }
      if (seen.kind !== e.kind || (seen.kind === "tensor" && e.kind === "tensor" && !sameTensor(seen, e))) {
        throw new FormatError("E_METADATA", `rank-local metadata files disagree about '${fqn}'`, { path });
      }
      if (seen.kind === "tensor" && e.kind === "tensor") {
        // Kept across parts: rebuilt per part, thousands of rank files would cost their count squared.
        let known = chunksOf.get(fqn);
        if (known === undefined) chunksOf.set(fqn, known = new Set(seen.chunks.map((c) => c.offsets.join(","))));
        for (const c of e.chunks) {
          const key = c.offsets.join(",");
          if (known.has(key)) continue;
          known.add(key);
          seen.chunks.push(c);
        }
      }
    }
    for (const [k, s] of part.storageData) if (!storageData.has(k)) storageData.set(k, s);
    if (part.plannerData) {
      plannerData ??= new Map();
      for (const [fqn, p] of part.plannerData) if (!plannerData.has(fqn)) plannerData.set(fqn, p);
    }
  }
  return {
    stateDictMetadata,
    plannerData,
    storageData,
    storageMeta: parts[0]?.storageMeta ?? null,
    version: parts[0]?.version ?? null,
  };
}

function sameTensor(a: EntryMeta & { kind: "tensor" }, b: EntryMeta & { kind: "tensor" }): boolean {
  return a.dtype === b.dtype && a.size.length === b.size.length && a.size.every((s, i) => s === b.size[i]);
}
