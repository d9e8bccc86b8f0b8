import { invariant } from "../errors/mod.ts";
import { METADATA_FILE } from "../dcp/mod.ts";
import { SAFETENSORS_INDEX_NAME, SINGLE_FILE_NAME } from "../safetensors/mod.ts";
import type { Limits } from "../limits/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { isLegacyTorchHead, LEGACY_HEAD_BYTES } from "../torch/mod.ts";
import { openDcpSource } from "./source_dcp.ts";
import { openHfFolderSource, openSafetensorsFileSource } from "./source_safetensors.ts";
import { openTorchFileSource } from "./source_torch.ts";
import type { SourceFormat, TensorSource } from "./tensor_source.ts";

/** What tells one input format apart from the others, and how a source of it is opened. */
export interface FormatFacts {
  /** The format. */
  format: SourceFormat;
  /** A format stored as one file, or as a folder of files. */
  shape: "file" | "folder";
  /** File formats: the file names that are this format whatever their bytes. */
  extension?: RegExp;
  /** File formats: whether a file starting with these bytes (`HEAD_BYTES` of them, fewer in a shorter file) is this format. */
  sniff?: (head: Uint8Array) => boolean;
  /** Folder formats: whether a folder holding these file names is this format. */
  holds?: (names: ReadonlySet<string>) => boolean;
  /** Folder formats: file names that mark the format, probed one by one where a storage cannot list (HTTP). */
  markers?: readonly string[];
  /** Opens a source of this format, under the limits on untrusted input. */
  open(storage: Storage, path: string, limits?: Partial<Limits>): Promise<TensorSource>;
}

/**
 * The input formats, in the order they are tried: DCP before HF for folders; for files, the extension
 * decides, else the first bytes (a zip or a legacy pickle is torch.save), else the last file format
 * (safetensors, whose header checks then say whether it is one).
 */
export const FORMATS: readonly FormatFacts[] = [
  {
    format: "dcp",
    shape: "folder",
    holds: (names) => names.has(METADATA_FILE) || [...names].some((n) => /^__\d+\.metadata$/.test(n)),
    markers: [METADATA_FILE],
    open: openDcpSource,
  },
  {
    format: "hf",
    shape: "folder",
    holds: (names) => names.has(SAFETENSORS_INDEX_NAME) || [...names].some((n) => n.endsWith(".safetensors")),
    markers: [SAFETENSORS_INDEX_NAME, SINGLE_FILE_NAME],
    open: openHfFolderSource,
  },
  {
    format: "torch",
    shape: "file",
    extension: /\.(pt|pth|bin|ckpt)$/i,
    // A zip archive, or the pickles of the legacy (pre-1.6) torch.save layout.
    sniff: (head) =>
      (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) || isLegacyTorchHead(head),
    open: openTorchFileSource,
  },
  { format: "safetensors", shape: "file", extension: /\.safetensors$/i, open: openSafetensorsFileSource },
];

/** How many first bytes of a file `sniff` looks at. */
export const HEAD_BYTES: number = LEGACY_HEAD_BYTES;

/** The facts of one format. */
export function formatFacts(format: SourceFormat): FormatFacts {
  const facts = FORMATS.find((f) => f.format === format);
  invariant(facts, `FORMATS lists every SourceFormat, ${format} included`);
  return facts;
}
