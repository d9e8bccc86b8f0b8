/** One stored record of a zip archive, as the central directory and its local header describe it. */
export interface ZipEntry {
  /** The record name (UTF-8), e.g. `archive/data/0`. */
  name: string;
  /** Offset of the local file header, relative to the archive start. */
  localHeaderOffset: number;
  /** Offset of the first data byte, relative to the archive start. */
  dataOffset: number;
  /** Uncompressed size in bytes (= the stored size, unless `deflated`). */
  size: number;
  /** Set for an entry stored with deflate (method 8): its data is `compressedSize` bytes at `dataOffset`. */
  deflated?: { compressedSize: number };
  /** CRC-32 the central directory declares for the data. */
  crc32: number;
}

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_DESCRIPTOR = 0x08074b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const EOCD_SIZE = 22;
export const ZIP64_EOCD_SIZE = 56;
export const ZIP64_LOCATOR_SIZE = 20;
export const ZIP64_EXTRA_ID = 0x0001;
export const U32_MAX = 0xffffffff;
export const U16_MAX = 0xffff;
