/**
 * The output writers of convert and reshard (DCP, safetensors, torch.save), one `Writer` each, streaming
 * the band pipeline's output into their files, and the `--part` split of a write over several machines.
 * @example
 * ```ts
 * import { ownsFile, WRITERS } from "./mod.ts";
 *
 * if (Object.keys(WRITERS).sort().join() !== "dcp,safetensors,torch") throw new Error("one writer per format");
 * // Part 1 of 4 writes output files 1, 5, 9, ...
 * if (!ownsFile({ index: 1, count: 4 }, 5) || ownsFile({ index: 1, count: 4 }, 6)) throw new Error("i % w === r");
 * ```
 * @module
 */
export type { TargetFormat, WriteInput, Writer, WriterOptions } from "./writer.ts";
export { WRITERS } from "./writers.ts";
export { type SafetensorsPartManifest } from "./to_safetensors.ts";
export { assignFiles, ownedFiles, type Part, PART_MANIFEST, partManifestName } from "./part.ts";
export { checkPartFiles, type PartFile, partFilesName, recordPartFiles } from "./part_files.ts";
