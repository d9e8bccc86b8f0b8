/**
 * Writing a DCP folder as PyTorch's `FileSystemWriter` does: one `__<rank>_0.distcp` per rank holding
 * complete `torch.save` archives back to back (BYTE_IO first), then `.metadata` last via `.metadata.tmp`
 * and a rename, so a folder with `.metadata` is always complete. On failure nothing of this save remains.
 */
import { StorageError } from "../errors/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { commitDcp, METADATA_FILE } from "./commit.ts";
import type { DcpMetadata } from "./metadata.ts";
import type { DcpWritePlan } from "./write_plan.ts";
import { planGlobal } from "./write_plan.ts";
import { rankFileName } from "./rank_file.ts";
import { writeRankFile } from "./write_rank.ts";
import { runLimited } from "../tasks/mod.ts";

/** Progress of `writeDcp`, one report per item written. */
export interface DcpWriteProgress {
  /** The rank whose file got the item. */
  rank: number;
  /** The item's entry. */
  fqn: string;
  /** Items written so far. */
  itemsDone: number;
  /** Items to write in all. */
  itemsTotal: number;
  /** Item bytes written so far. */
  bytesWritten: number;
}

/** Options of `writeDcp`. */
export interface WriteDcpOptions {
  /** Called after each item. */
  onProgress?: (p: DcpWriteProgress) => void;
  /** Replace an existing checkpoint in `dir` (default true, like PyTorch); false fails with E_EXISTS. */
  overwrite?: boolean;
  /** Rank files written at once (default 1). Item data providers must allow concurrent calls across ranks. */
  concurrency?: number;
  /** Called when a rank's file is written (before `.metadata`), e.g. to free what fed it. */
  onRankWritten?: (rank: number) => void | Promise<void>;
}

/** Writes the plan into `dir` and returns the metadata that was committed. */
export async function writeDcp(
  storage: Storage,
  dir: string,
  plan: DcpWritePlan,
  opts: WriteDcpOptions = {},
): Promise<DcpMetadata> {
  const global = planGlobal(plan);
  const metadataPath = joinPath(dir, METADATA_FILE);
  if (await storage.stat(metadataPath)) {
    if (opts.overwrite === false) {
      throw new StorageError("E_EXISTS", "a checkpoint already exists", { path: metadataPath });
    }
    // Drop the old commit marker first: its data files are about to be replaced.
    await storage.remove(metadataPath);
  }
  const itemsTotal = global.ranks.reduce((n, items) => n + items.length, 0);
  const published: string[] = [];
  let itemsDone = 0;
  let bytesWritten = 0;
  try {
    const perRank = await runLimited(
      global.ranks.map((items, rank) => async () => {
        const entries = await writeRankFile(storage, dir, rank, items, global.stateDictMetadata, (item, length) => {
          bytesWritten += length;
          opts.onProgress?.({ rank, fqn: item.fqn, itemsDone: ++itemsDone, itemsTotal, bytesWritten });
        });
        published.push(joinPath(dir, rankFileName(rank)));
        await opts.onRankWritten?.(rank);
        return entries;
      }),
      opts.concurrency ?? 1,
    );
    const save = {
      stateDictMetadata: global.stateDictMetadata,
      plannerData: plan.plannerData ?? null,
      storageData: perRank.flat(),
    };
    return (await commitDcp(storage, dir, save, { requireTiling: plan.ranks.length > 1 })).metadata;
  } catch (e) {
    for (const p of published) await storage.remove(p).catch(() => {});
    throw e;
  }
}
