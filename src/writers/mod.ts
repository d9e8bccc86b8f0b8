/**
 * The output writers of convert and reshard (DCP, safetensors, torch.save), one `Writer` each, streaming
 * the band pipeline's output into their files, and the `--part` split of a write over several machines.
 * @module
 */
export type { TargetFormat, WriteInput, Writer, WriterOptions } from "./writer.ts";
export { WRITERS } from "./writers.ts";
export { type SafetensorsPartManifest } from "./to_safetensors.ts";
export { assignFiles, ownedFiles, type Part, PART_MANIFEST, partManifestName } from "./part.ts";
export { checkPartFiles, type PartFile, partFilesName, recordPartFiles } from "./part_files.ts";
