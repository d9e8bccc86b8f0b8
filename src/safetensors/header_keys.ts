/**
 * A lexical pass over an already JSON.parse-validated header, on its UTF-8 bytes, for the two things
 * JSON.parse hides: where each top-level key sits (so errors can name a byte offset) and whether a key
 * repeats (JSON.parse silently keeps the last one). It also flags any number that is not a plain
 * non-negative integer, because every number in a safetensors header is a Rust `usize` and the reference
 * rejects `1.0`, `-1` and `1e3` where JSON.parse would quietly accept them.
 */
export interface HeaderKeyScan {
  /** Top-level keys in file order with the byte offset (within the header) of their opening quote. */
  keys: { name: string; offset: number }[];
  /** Offset of the first number that is not a plain unsigned integer, if any. */
  badNumberAt?: number;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACK = 0x5b, RBRACK = 0x5d;

export function scanHeaderKeys(json: Uint8Array): HeaderKeyScan {
  const decoder = new TextDecoder();
  const keys: HeaderKeyScan["keys"] = [];
  let badNumberAt: number | undefined;
  let depth = 0;
  // At depth 1 a string is a key when it follows `{` or `,` (values follow `:`).
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      const start = i;
      for (i++; json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++;
      if (depth === 1 && expectKey) {
        keys.push({ name: JSON.parse(decoder.decode(json.subarray(start, i + 1))), offset: start });
      }
      expectKey = false;
    } else if (c === LBRACE || c === LBRACK) {
      depth++;
      expectKey = c === LBRACE && depth === 1;
    } else if (c === RBRACE || c === RBRACK) {
      depth--;
    } else if (c === 0x2c) {
      expectKey = depth === 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i + 1 < json.length && isNumberByte(json[i + 1])) i++;
      const token = json.subarray(start, i + 1);
      if (badNumberAt === undefined && token.some((b) => b < 0x30 || b > 0x39)) badNumberAt = start;
    }
  }
  return { keys, badNumberAt };
}

function isNumberByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2e || b === 0x65 || b === 0x45 || b === 0x2b || b === 0x2d;
}
