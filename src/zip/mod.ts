export { crc32 } from "./crc32.ts";
export { checksummedRecord } from "./checksummed_record.ts";
export { crc32Join, crc32OfPrefix, crc32OfSuffix } from "./crc32_algebra.ts";
export type { ZipEntry } from "./zip_entry.ts";
export { readZipDirectory, type ReadZipDirectoryOptions } from "./read_directory.ts";
export { ZipLayout } from "./zip_layout.ts";
export { ZipWriter, type ZipWriterOptions } from "./zip_writer.ts";
export { checkInflateLimits, DEFAULT_INFLATE_LIMITS, inflatedSource, type InflateLimits } from "./inflated_source.ts";
