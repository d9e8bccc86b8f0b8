/**
 * The output writers of convert and reshard (DCP, safetensors, torch.save), one `Writer` each, streaming
 * the band pipeline's output into their files, and the `--part` split of a write over several machines.
 * @example
 * ```ts
 * import { assignFiles, ownedFiles, WRITERS } from "./mod.ts";
 *
 * if (Object.keys(WRITERS).sort().join() !== "dcp,safetensors,torch") throw new Error("one writer per format");
 * // Two parts share output files of 10, 1, 1 and 8 bytes: largest first, each to the lighter part (10 bytes each).
 * if (assignFiles([10, 1, 1, 8], 2).join() !== "0,1,1,1") throw new Error("balanced by bytes");
 * const mine = ownedFiles({ index: 1, count: 2 }, [10, 1, 1, 8]);
 * if (mine(0) || !mine(3)) throw new Error("part 1 writes files 1, 2 and 3");
 * ```
 * @module
 */
export type { TargetFormat, WriteInput, Writer, WriterOptions } from "./writer.ts";
export { WRITERS } from "./writers.ts";
export { type SafetensorsPartManifest } from "./to_safetensors.ts";
export { assignFiles, ownedFiles, type Part, PART_MANIFEST, partManifestName } from "./part.ts";
export { checkPartFiles, type PartFile, partFilesName, recordPartFiles } from "./part_files.ts";
