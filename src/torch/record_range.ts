import { readSourceInto } from "../storage/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import type { ZipEntry } from "../zip/mod.ts";

/** What reading a tensor out of one storage record needs to know about its archive. */
export interface RecordReadContext {
  source: ByteSource;
  path: string;
  /** Offset of the archive inside `source`'s file, for error messages. */
  baseOffset: number;
  bigEndian: boolean;
}

/** Largest read of bytes the result does not need (gaps between runs, strided spans): bounds scratch memory. */
export const MAX_GAPPED_READ = 8 << 20;
/** Largest single range read; storage backends refuse reads above 2 GiB. */
const MAX_PIECE = 1 << 30;

/** `length` bytes at `offset` of the record, split into reads the storage layer accepts. */
export async function readRecordRange(
  ctx: RecordReadContext,
  record: ZipEntry,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const at = record.dataOffset + offset;
  if (length <= MAX_PIECE) return await ctx.source.read(at, length);
  const out = new Uint8Array(length);
  await readSourceInto(ctx.source, at, out);
  return out;
}
