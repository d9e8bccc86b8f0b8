import type { ChecksummedRecord, StoredRange } from "../storage/mod.ts";
import { crc32 } from "./crc32.ts";
import { crc32Join } from "./crc32_algebra.ts";
import { crc32OfStoredRange } from "./stored_range_crc.ts";

/** One stretch of the record's bytes and its CRC-32 (known, or still being worked out). */
interface Part {
  crc: number | Promise<number>;
  length: number;
}

/**
 * The CRC-32 of a zip record assembled from pieces in order: bytes that pass through are checksummed as
 * they pass, pieces made elsewhere bring their CRC along; ranges the sink copied without reading are checksummed afterwards, consecutive ones of one
 * checksummed record as a single run (whose CRC follows from the record's with few bytes read), others by
 * reading them, one after another (copies can outrun reads; each read holds a scratch buffer). Those CRCs
 * are worked out while later pieces are written, and joined at the end.
 */
export class PieceChecksums {
  readonly #parts: Part[] = [];
  #bytes: Part | undefined;
  #run: { record: ChecksummedRecord; source: StoredRange["source"]; start: number; end: number } | undefined;
  /** The last read started: the next one waits for it. */
  #reading: Promise<unknown> = Promise.resolve();

  /** Bytes that passed through. */
  read(bytes: Uint8Array): void {
    this.#closeRun();
    if (this.#bytes === undefined) {
      this.#bytes = { crc: 0, length: 0 };
      this.#parts.push(this.#bytes);
    }
    this.#bytes.crc = crc32(bytes, this.#bytes.crc as number);
    this.#bytes.length += bytes.byteLength;
  }

  /** A range the sink copied without reading it. */
  copied(range: StoredRange): void {
    this.#bytes = undefined;
    const run = this.#run;
    if (run !== undefined && run.record === range.record && run.source === range.source && run.end === range.offset) {
      run.end += range.length;
      return;
    }
    this.#closeRun();
    if (range.record !== undefined) {
      this.#run = { record: range.record, source: range.source, start: range.offset, end: range.offset + range.length };
      return;
    }
    const crc = this.#reading.then(() => crc32OfStoredRange(range));
    this.#reading = crc.catch(() => {}); // surfaces from total()
    this.#parts.push({ crc, length: range.length });
  }

  /** A piece made where it is stored (not read here), whose CRC-32 its maker works out. */
  made(crc: Promise<number>, length: number): void {
    this.#closeRun();
    this.#bytes = undefined;
    crc.catch(() => {}); // surfaces from total()
    this.#parts.push({ crc, length });
  }

  /** The CRC-32 of all the pieces, in order. */
  async total(): Promise<number> {
    this.#closeRun();
    let crc = 0;
    for (const part of this.#parts) crc = crc32Join(crc, await part.crc, part.length);
    return crc;
  }

  #closeRun(): void {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    const crc = run.record.crc32(run.start, run.end);
    crc.catch(() => {}); // surfaces from total()
    this.#parts.push({ crc, length: run.end - run.start });
  }
}
