/**
 * Generators of the hostile input classes of issue 11, as bytes a reader meets in a file: pickles whose memo
 * makes a DAG or a cycle, deep nesting, huge declared sizes, many chunks, and names with control
 * characters or prototype keys. Each is built opcode by opcode (pickletools names in comments), so the
 * tests say exactly what a hostile writer would put on disk.
 */
import type { PyValue } from "../../src/pickle/mod.ts";
import { rebuildV2 } from "../torch/build_archive.ts";

const enc = new TextEncoder();

/** A little byte assembler for pickle streams (protocol 2 framing, any opcodes). */
export class PickleBytes {
  private parts: number[] = [0x80, 0x02]; // PROTO 2
  op(...bytes: number[]): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  /** BINUNICODE: a str with a 4-byte length. */
  str(s: string): this {
    const b = enc.encode(s);
    this.parts.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24);
    for (const x of b) this.parts.push(x);
    return this;
  }
  /** LONG_BINPUT i */
  put(i: number): this {
    return this.op(0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, i >>> 24);
  }
  /** LONG_BINGET i */
  get(i: number): this {
    return this.op(0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, i >>> 24);
  }
  /** STOP, and the bytes. */
  done(): Uint8Array {
    this.parts.push(0x2e);
    return Uint8Array.from(this.parts);
  }
}

const EMPTY_DICT = 0x7d, EMPTY_LIST = 0x5d, SETITEM = 0x73, APPEND = 0x61, BININT1 = 0x4b;

/**
 * `levels` dicts, each holding the one below under two keys: a few bytes per level, 2^levels leaves
 * once walked as a tree. The root is a dict (a state dict to a torch.save reader).
 */
export function dagPickle(levels: number): Uint8Array {
  const p = new PickleBytes().op(EMPTY_DICT).str("w").op(BININT1, 1, SETITEM).put(0);
  for (let i = 1; i <= levels; i++) {
    p.op(EMPTY_DICT).str("a").get(i - 1).op(SETITEM).str("b").get(i - 1).op(SETITEM).put(i);
  }
  return p.done();
}

/** A dict that holds itself under "self" (and a list that holds itself under "loop"). */
export function cyclicPickle(): Uint8Array {
  return new PickleBytes()
    .op(EMPTY_DICT).put(0).str("self").get(0).op(SETITEM)
    .str("loop").op(EMPTY_LIST).put(1).get(1).op(APPEND).op(SETITEM)
    .done();
}

/** `depth` dicts nested in one another (built without MARKs: all pushed, then closed by SETITEMs). */
export function deepDictPickle(depth: number): Uint8Array {
  const p = new PickleBytes();
  for (let i = 0; i < depth; i++) p.op(EMPTY_DICT).str("k");
  p.op(BININT1, 7);
  for (let i = 0; i < depth; i++) p.op(SETITEM);
  return p.done();
}

/** A state dict `{"x": [[[...]]]}` with `depth` nested lists and a tensor at the bottom, so none is terminal. */
export function deepListPickle(depth: number): Uint8Array {
  const p = new PickleBytes().op(EMPTY_DICT).str("x");
  for (let i = 0; i < depth; i++) p.op(EMPTY_LIST);
  p.op(EMPTY_DICT); // a mapping at the bottom makes every list above it a container, not a leaf
  for (let i = 0; i < depth; i++) p.op(APPEND);
  p.op(SETITEM);
  return p.done();
}

/** A torch.save-style `data.pkl` of one float32 view of a 1-element storage whose strides make it huge. */
export function expandedViewPickle(shape: number[]): PyValue {
  return new Map<PyValue, PyValue>([["big", rebuildV2("FloatStorage", "0", 1, 0, shape, shape.map(() => 0))]]);
}

/** A safetensors file of `count` empty float32 tensors named `name(i)`. */
export function manyTensorSafetensors(count: number, name = (i: number) => `t${i}`): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(`${JSON.stringify(name(i))}:{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  }
  return safetensorsOf(`{${parts.join(",")}}`);
}

/** A safetensors file holding exactly `header` (padded with spaces to 8 bytes) and no data. */
export function safetensorsOf(header: string): Uint8Array {
  let text = header;
  while (text.length % 8 !== 0) text += " ";
  const body = enc.encode(text);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** Names a hostile writer would choose: terminal escapes, prototype keys. */
export const HOSTILE_NAMES = ["\x1b]0;pwned\x07\x1b[2J", "__proto__", "constructor", "toString", "a\x9bb\rc"] as const;
