import { type ErrorCode, PickleError } from "../errors/mod.ts";
import { opcodeName } from "./opcodes.ts";

/**
 * Bounds-checked reads over a pickle stream. Every error names the opcode being decoded, the absolute
 * offset of that opcode (`baseOffset` + position) and the file path.
 */
export class PickleCursor {
  pos = 0;
  /** Start of the opcode being decoded; errors point here. */
  opStart = 0;
  opcode = -1;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly path: string | undefined, readonly baseOffset: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  error(code: ErrorCode, message: string, cause?: unknown): PickleError {
    const op = this.opcode < 0 ? "" : `${opcodeName(this.opcode)}: `;
    return new PickleError(code, op + message, { path: this.path, offset: this.baseOffset + this.opStart, cause });
  }

  /** Begins the next opcode; a stream that ends here has lost its STOP. */
  nextOpcode(): number {
    this.opStart = this.pos;
    this.opcode = -1;
    if (this.pos >= this.bytes.length) throw this.error("E_TRUNCATED", "pickle ends without STOP");
    this.opcode = this.bytes[this.pos++];
    return this.opcode;
  }

  /** Checks that `n` bytes remain, for fixed arguments and declared payload sizes alike. */
  need(n: number): void {
    if (n > this.remaining) {
      throw this.error(
        "E_TRUNCATED",
        `needs ${n} bytes at offset ${this.baseOffset + this.pos}, ${this.remaining} remain`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 as a number; values past 2^53 lose precision but are already far beyond any real input. */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * 2 ** 32 + lo;
  }

  f64be(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }

  /** Claims `n` payload bytes (checked against the real input first) and returns where they start. */
  take(n: number): number {
    if (n < 0) throw this.error("E_PICKLE", `negative length ${n}`);
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  /** A text-form argument: the bytes up to (not including) the next newline. */
  line(): [start: number, end: number] {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw this.error("E_TRUNCATED", "argument line has no terminating newline");
    const start = this.pos;
    this.pos = end + 1;
    return [start, end];
  }
}
