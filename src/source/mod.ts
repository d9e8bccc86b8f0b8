/**
 * The read model: every input (DCP folder, HF folder, `.safetensors` file, torch.save file) opened as one
 * `TensorSource` of named entries whose data is read on demand, plus selection of entries by name.
 * @example
 * ```ts
 * import { openTensorSource } from "./mod.ts";
 * import { saveStateDict } from "../dcp/mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const storage = new MemoryStorage();
 * await saveStateDict(storage, "ckpt", { model: { w: makeTensor("float32", [2, 3]) } });
 * const source = await openTensorSource(storage, "ckpt");
 * const names = source.entries.map((e) => e.name);
 * await source.close();
 * if (source.format !== "dcp" || names.join() !== "model.w") throw new Error(names.join());
 * ```
 * @module
 */
export type {
  Entry,
  SourceFile,
  SourceFormat,
  StoredChunk,
  TensorEntry,
  TensorSource,
  ValueEntry,
} from "./tensor_source.ts";
export { tensorEntries, valueEntries } from "./tensor_source.ts";
export { detectFormat, openTensorSource } from "./open.ts";
export type { Location } from "./location.ts";
export { globToRegExp, keyFilter } from "./glob.ts";
export { type Selected, selectEntries, type Selection, type SelectOptions, TRAINING_GROUPS } from "./select.ts";
export { type FormatFacts, FORMATS } from "./formats.ts";
export { openDcpSource } from "./source_dcp.ts";
export { openHfFolderSource, openSafetensorsFileSource } from "./source_safetensors.ts";
export { openTorchFileSource } from "./source_torch.ts";
