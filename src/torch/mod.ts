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
