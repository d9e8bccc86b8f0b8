import { OP } from "./opcodes.ts";

const FRAME_HEADER_SIZE = 9;
/** CPython closes a frame at the first opcode boundary once it holds this many bytes. */
const FRAME_SIZE_TARGET = 64 * 1024;
/** Frames shorter than this are written without a FRAME header. */
const FRAME_SIZE_MIN = 4;

/**
 * The pickler's output buffer, with protocol 4 framing done the way CPython's C pickler does it: a frame
 * header is reserved when a frame opens, patched (or removed, for tiny frames) when it closes, and payloads
 * of 64 KiB or more are written between frames.
 */
export class PickleWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private frameStart = -1;
  private framing = false;

  startFraming(): void {
    this.framing = true;
  }

  private reserve(n: number): void {
    if (this.framing && this.frameStart === -1) {
      this.frameStart = this.len;
      n += FRAME_HEADER_SIZE;
      this.grow(n);
      this.len += FRAME_HEADER_SIZE;
    } else {
      this.grow(n);
    }
  }

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** An opcode followed by a little-endian unsigned argument of `size` bytes. */
  opWithUint(op: number, value: number, size: 1 | 2 | 4): void {
    this.reserve(1 + size);
    this.buf[this.len++] = op;
    for (let i = 0; i < size; i++) this.buf[this.len++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  /** A length-prefixed payload (str or bytes); large ones bypass framing as CPython does. */
  payload(header: Uint8Array, data: Uint8Array): void {
    if (data.length < FRAME_SIZE_TARGET || !this.framing) {
      this.bytes(header);
      this.bytes(data);
      return;
    }
    this.commitFrame();
    this.framing = false;
    this.bytes(header);
    this.bytes(data);
    this.framing = true;
  }

  /** Called after each saved object: closes the frame once it has reached the target size. */
  opcodeBoundary(): void {
    if (this.frameStart !== -1 && this.len - this.frameStart - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET) {
      this.commitFrame();
    }
  }

  commitFrame(): void {
    if (this.frameStart === -1) return;
    const start = this.frameStart;
    const frameLen = this.len - start - FRAME_HEADER_SIZE;
    if (frameLen >= FRAME_SIZE_MIN) {
      this.buf[start] = OP.FRAME;
      new DataView(this.buf.buffer).setBigUint64(start + 1, BigInt(frameLen), true);
    } else {
      this.buf.copyWithin(start, start + FRAME_HEADER_SIZE, this.len);
      this.len -= FRAME_HEADER_SIZE;
    }
    this.frameStart = -1;
  }

  finish(): Uint8Array {
    this.commitFrame();
    return this.buf.slice(0, this.len);
  }
}
