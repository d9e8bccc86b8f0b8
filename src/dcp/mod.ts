/**
 * PyTorch Distributed Checkpoints: the `.metadata` model and codec, `openDcp` (box reads touch only the
 * items they need), write plans, rank files, the one commit (`commitDcp`: `.metadata` last), target layouts
 * and the one tiling rule (`checkTiling`).
 *
 * @example
 * ```ts
 * import { openDcp, saveStateDict } from "./mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const storage = new MemoryStorage();
 * await saveStateDict(storage, "step-1", { w: makeTensor("float32", [4, 2]) }, { ranks: 2 });
 * const ckpt = await openDcp(storage, "step-1");
 * const rows = await ckpt.readTensor("w", { offsets: [1, 0], sizes: [2, 2] }); // across both ranks' chunks
 * await ckpt.close();
 * if (rows.shape.join() !== "2,2") throw new Error("a box read");
 * ```
 * @module
 */
export type {
  BytesEntryMeta,
  DcpMetadata,
  EntryMeta,
  MemoryFormat,
  StatePath,
  StorageEntry,
  StorageInfo,
  StorageMeta,
  TensorEntryMeta,
} from "./metadata.ts";
export { DCP_VERSION, storageKey } from "./metadata.ts";
export { decodeMetadata } from "./decode_metadata.ts";
export { encodeMetadata, type EncodeMetadataOptions } from "./encode_metadata.ts";
export { mergeMetadata } from "./merge_metadata.ts";
export {
  type FlatStateDict,
  flattenStateDict,
  isMapping,
  type StateDict,
  type StateLeaf,
  unflattenStateDict,
} from "./flatten.ts";
export {
  checkItemRanges,
  checkLayout,
  checkTensorChunks,
  itemFile,
  type ItemRanges,
  itemRanges,
  type LayoutCheckOptions,
} from "./validate.ts";
export { type DcpCheckpoint, type DcpEntry, type DcpFileInfo, openDcp, type OpenDcpOptions } from "./read.ts";
export { fetchOpenings, OPENING_BYTES, openingRanges, type OpeningRangesOptions } from "./opening_ranges.ts";
export {
  type DcpRawItem,
  type DcpTensorChunkItem,
  type DcpValueItem,
  type DcpWriteItem,
  type DcpWritePlan,
  dedupPlan,
  type GlobalPlan,
  PAGE_BYTES,
  planGlobal,
} from "./write_plan.ts";
export { type DcpWriteProgress, writeDcp, type WriteDcpOptions } from "./write.ts";
export { saveStateDict, type SaveStateDictOptions, shardBox } from "./save_state_dict.ts";
export { writeRankFile } from "./write_rank.ts";
export { rankFileName, rankOfFileName } from "./rank_file.ts";
export {
  chunkRanges,
  dimSplitLayout,
  type Layout,
  layoutToJson,
  parseLayoutJson,
  type RankBox,
  wholeRankBox,
} from "./layout.ts";
export { applyDictAttributes, collectDictAttributes, type DictAttributes } from "./dict_attributes.ts";
export { checkTiling, type TilingMode, type TilingProblem } from "./tiling.ts";
export { commitDcp, type CommitDcpOptions, type DcpSave, METADATA_FILE } from "./commit.ts";
