import { invariant, UsageError } from "../errors/mod.ts";
import type { BytePiece, ByteSink } from "../storage/mod.ts";
import { appendMadeRange, appendStoredRange, isStoredRange, pieceLength } from "../storage/mod.ts";
import { PieceChecksums } from "./piece_checksums.ts";
import type { ZipEntry } from "./zip_entry.ts";
import { ZipLayout } from "./zip_layout.ts";

/** Options of `ZipWriter`. */
export interface ZipWriterOptions {
  /** Data alignment relative to the archive start; torch uses (and records) 64. */
  alignment?: number;
}

/**
 * Streams a torch-style zip archive (see `ZipLayout`) into a `ByteSink`. Offsets are relative to the sink
 * position at construction, so an archive can sit inside a larger file (a DCP item in a rank file).
 */
export class ZipWriter {
  readonly #sink: ByteSink;
  readonly #layout: ZipLayout;
  #busy = false;

  /** A writer appending records to `sink`. */
  constructor(sink: ByteSink, opts: ZipWriterOptions = {}) {
    this.#sink = sink;
    this.#layout = new ZipLayout(opts.alignment);
  }

  /** Bytes written so far, relative to the archive start. */
  get position(): number {
    return this.#layout.position;
  }

  /** The records written so far. */
  get entries(): readonly ZipEntry[] {
    return this.#layout.entries;
  }

  /** Writes one record whose bytes are given whole or as pieces (never concatenated). */
  async writeRecord(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<ZipEntry> {
    const pieces = data instanceof Uint8Array ? [data] : data;
    let size = 0;
    for (const p of pieces) size += p.byteLength;
    return await this.writeRecordStream(name, size, pieces);
  }

  /**
   * Writes one record of `size` bytes from chunks produced on demand, so a multi-GB storage never sits in
   * memory at once. The size must be known up front: it decides the header layout before any data. Chunks
   * that are stored ranges are copied by the sink where it can, and their CRC comes from their checksummed
   * record (few bytes read) or from reading them; made ranges whose maker works out their CRC are made by
   * the sink where it can.
   */
  async writeRecordStream(
    name: string,
    size: number,
    chunks: Iterable<BytePiece> | AsyncIterable<BytePiece>,
  ): Promise<ZipEntry> {
    if (this.#busy) throw new UsageError("E_USAGE", "zip writer is busy: await each record before the next");
    this.#busy = true;
    try {
      await this.#sink.write(this.#layout.begin(name, size));
      const checksum = new PieceChecksums();
      let written = 0;
      for await (const chunk of chunks) {
        written += pieceLength(chunk);
        if (written > size) break;
        if (isStoredRange(chunk)) {
          if (await appendStoredRange(this.#sink, chunk, (bytes) => checksum.read(bytes))) checksum.copied(chunk);
        } else if (chunk instanceof Uint8Array) {
          checksum.read(chunk);
          await this.#sink.write(chunk);
        } else {
          // Made by the sink where its maker works out the CRC (which joins the record's when it comes),
          // else made here and checksummed as it passes.
          const bytesMade = await appendMadeRange(this.#sink, chunk, (bytes) => checksum.read(bytes));
          if (bytesMade) checksum.made(bytesMade.made.then(crcOf), chunk.length);
        }
      }
      const crc = await checksum.total();
      if (written !== size) {
        throw new UsageError(
          "E_USAGE",
          `zip record '${name}' announced ${size} bytes but its chunks held ${written > size ? "more" : written}`,
        );
      }
      const trailer = this.#layout.end(crc);
      if (trailer.length > 0) await this.#sink.write(trailer);
      return this.#layout.entries[this.#layout.entries.length - 1];
    } finally {
      this.#busy = false;
    }
  }

  /** Writes the central directory and end records. The sink is left open for the caller to close. */
  async finish(): Promise<ZipEntry[]> {
    if (this.#busy) throw new UsageError("E_USAGE", "zip writer is busy: await each record before the next");
    this.#busy = true;
    try {
      await this.#sink.write(this.#layout.finish());
      return [...this.#layout.entries];
    } finally {
      this.#busy = false;
    }
  }
}

/** The CRC-32 a made range whose maker promised one resolved to. */
function crcOf(crc: number | undefined): number {
  invariant(crc !== undefined, "a made range that promised its CRC-32 gave none");
  return crc;
}
