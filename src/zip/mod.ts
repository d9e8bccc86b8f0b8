/**
 * The zip container torch.save writes: directory reader (zip64, bounded reads), streaming writer, CRC-32
 * and the GF(2) algebra that derives a piece's CRC from its neighbours'.
 *
 * `crc32Join`, `crc32OfPrefix` and `crc32OfSuffix` give the CRC of joined or split strings from their parts'
 * (arithmetic modulo the CRC polynomial); `checksummedRecord` gives the CRC of any run of a record whose CRC is
 * known by reading only the shorter side of each cut, so copied pieces need not be read whole.
 *
 * @example
 * ```ts
 * import { crc32 } from "./mod.ts";
 *
 * if (crc32(new TextEncoder().encode("123456789")) !== 0xcbf43926) throw new Error("the standard check value");
 * ```
 * @module
 */
export { crc32 } from "./crc32.ts";
export { checksummedRecord } from "./checksummed_record.ts";
export { crc32Join, crc32OfPrefix, crc32OfSuffix } from "./crc32_algebra.ts";
export type { ZipEntry } from "./zip_entry.ts";
export { readZipDirectory, type ReadZipDirectoryOptions } from "./read_directory.ts";
export { ZipLayout } from "./zip_layout.ts";
export { ZipWriter, type ZipWriterOptions } from "./zip_writer.ts";
export { checkInflateLimits, DEFAULT_INFLATE_LIMITS, inflatedSource, type InflateLimits } from "./inflated_source.ts";
