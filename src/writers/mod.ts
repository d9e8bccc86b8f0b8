/**
 * The output writers of convert and reshard (DCP, safetensors, torch.save), each streaming the band
 * pipeline's output into its files, and the `--part` split of a write over several machines.
 * @module
 */
export { buildDcpPlan, type DcpOutputOptions, writeDcpOutput } from "./to_dcp.ts";
export {
  planShardFiles,
  type SafetensorsOutputOptions,
  type SafetensorsPartManifest,
  writeSafetensorsOutput,
} from "./to_safetensors.ts";
export { type TorchOutputOptions, writeTorchOutput } from "./to_torch.ts";
export { assignFiles, ownedFiles, type Part, PART_MANIFEST, partManifestName, parsePart } from "./part.ts";
export { partFromEnv } from "./part_auto.ts";
export { checkPartFiles, type PartFile, partFilesName, recordPartFiles } from "./part_files.ts";
