/**
 * torch.save archives: `openTorchArchive` (lazy tensor references, CRCs checked on demand), `loadTorch`,
 * and `saveTorch`/`encodeTorch`, byte-identical to torch's own output.
 *
 * Opening reads both ends of an archive up front (headers, directory and small records in two reads) and
 * believes the directory's CRCs only when those of the records it read anyway hold (torch's
 * `set_crc32_options(False)` writes zeros). Records are 64-byte aligned relative to the archive start.
 *
 * @example
 * ```ts
 * import { encodeTorch, isTensorRef, openTorchArchive } from "./mod.ts";
 * import { memorySource } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const bytes = encodeTorch(new Map([["w", makeTensor("bfloat16", [2, 3])]]));
 * const archive = await openTorchArchive(memorySource(bytes, "w.pt"));
 * const w = (archive.value as Map<string, unknown>).get("w");
 * if (!isTensorRef(w) || w.shape.join() !== "2,3") throw new Error("a lazy tensor reference");
 * ```
 * @module
 */
export { isTensorRef, TensorRef, TorchStorage } from "./tensor_ref.ts";
export { TorchDType, TorchLayout, TorchStorageType } from "./tokens.ts";
export { torchGlobals } from "./globals.ts";
export { ENDS_WINDOW, openTorchArchive, type OpenTorchArchiveOptions, type TorchArchive } from "./open_archive.ts";
export { loadTorch, materialiseTensors } from "./load.ts";
export { isLazyTensor, type LazyTensor } from "./lazy_tensor.ts";
export { encodeTorch, saveTorch, type SaveTorchOptions, torchDataOffset } from "./save.ts";
export type { TorchSaveValue } from "./save_plan.ts";
export {
  isLegacyTorchHead,
  LEGACY_HEAD_BYTES,
  MAX_LEGACY_PICKLES_BYTES,
  openLegacyTorchFile,
} from "./legacy_format.ts";
