import type { Storage } from "../storage/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { encodeMetadata } from "./encode_metadata.ts";
import type { DcpMetadata, StorageEntry } from "./metadata.ts";
import { DCP_VERSION, storageKey } from "./metadata.ts";
import { checkLayout } from "./validate.ts";

/** The file whose presence says a DCP checkpoint is complete. */
export const METADATA_FILE = ".metadata";

/** What a save commits: the tensors and values saved, their object paths and the storage entries written. */
export interface DcpSave {
  /** Every tensor and value saved, with its chunks. */
  stateDictMetadata: DcpMetadata["stateDictMetadata"];
  /** Object paths of the entries in the nested state dict; null when flat. */
  plannerData: DcpMetadata["plannerData"];
  /** By `storageKey`, or as the list of entries the rank files returned. */
  storageData: Map<string, StorageEntry> | readonly StorageEntry[];
}

/** Options of `commitDcp`. */
export interface CommitDcpOptions {
  /**
   * Write a part's manifest under this name instead of `.metadata`: its items cover only the ranks the part
   * wrote, so the layout is checked when `finalize` commits the merged manifests, and nothing is stamped.
   */
  partFile?: string;
  /** Whether several chunks of a tensor must tile it (default true; a one-rank save may hold partial shards). */
  requireTiling?: boolean;
}

/**
 * The one door through which a DCP checkpoint is committed (`writeDcp`, `--part` runs and `finalize`):
 * called once every data file is written, it stamps the save (`storage_meta`, version), checks the layout
 * (every chunk tiles its tensor and has its item) and writes `.metadata` last, through `.metadata.tmp` and
 * a rename, so a folder with `.metadata` is always complete; then removes the temp files killed runs left
 * in the folder (`Storage.removeTemps`). Returns the path written.
 */
export async function commitDcp(
  storage: Storage,
  dir: string,
  save: DcpSave,
  opts: CommitDcpOptions = {},
): Promise<{ path: string; metadata: DcpMetadata }> {
  const path = joinPath(dir, opts.partFile ?? METADATA_FILE);
  const metadata: DcpMetadata = {
    stateDictMetadata: save.stateDictMetadata,
    plannerData: save.plannerData,
    storageData: Array.isArray(save.storageData)
      ? new Map(save.storageData.map((e) => [storageKey(e.fqn, e.offsets), e]))
      : save.storageData as Map<string, StorageEntry>,
    storageMeta: null,
    version: DCP_VERSION,
  };
  if (opts.partFile === undefined) {
    metadata.storageMeta = { checkpointId: dir, saveId: crypto.randomUUID(), loadId: null, modules: [] };
    checkLayout(metadata, { path, requireTiling: opts.requireTiling });
  }
  const tmp = `${path}.tmp`;
  try {
    await storage.writeAll(tmp, encodeMetadata(metadata));
    await storage.rename(tmp, path);
  } catch (e) {
    await storage.remove(tmp).catch(() => {});
    throw e;
  }
  // The whole checkpoint is committed: temps in its folder are earlier runs' (a part's commit leaves them).
  if (opts.partFile === undefined) await storage.removeTemps?.(dir);
  return { path, metadata };
}
