/**
 * UTF-8 as CPython's pickle uses it: `surrogatepass`, so lone surrogates (which a Python `str` and a
 * JavaScript string can both hold) survive a round trip as 3-byte sequences instead of becoming U+FFFD.
 */

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const SURROGATE = /[\ud800-\udfff]/;

export function encodeUtf8(text: string): Uint8Array {
  if (!SURROGATE.test(text) || text.isWellFormed()) return encoder.encode(text);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Decodes `bytes[start, end)`; returns undefined when the bytes are not UTF-8 even with surrogatepass. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  const view = bytes.subarray(start, end);
  try {
    return strictDecoder.decode(view);
  } catch {
    return decodeWithSurrogates(view);
  }
}

function decodeWithSurrogates(b: Uint8Array): string | undefined {
  const units: number[] = [];
  let i = 0;
  const cont = (k: number) => k < b.length && (b[k] & 0xc0) === 0x80;
  while (i < b.length) {
    const b0 = b[i];
    let cp: number;
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf && cont(i + 1)) {
      cp = ((b0 & 0x1f) << 6) | (b[i + 1] & 0x3f);
      i += 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef && cont(i + 1) && cont(i + 2)) {
      cp = ((b0 & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
      if (cp < 0x800) return undefined; // overlong
      i += 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      cp = ((b0 & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return undefined;
      i += 4;
    } else {
      return undefined;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
  }
  let text = "";
  for (let k = 0; k < units.length; k += 8192) text += String.fromCharCode(...units.slice(k, k + 8192));
  return text;
}

/** Latin-1: each byte is one code point (Python 2 `str` opcodes, `bytes` pickled as latin-1 text). */
export function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let k = start; k < end; k += 8192) {
    text += String.fromCharCode(...bytes.subarray(k, Math.min(end, k + 8192)));
  }
  return text;
}

/** The inverse of `decodeLatin1`; undefined when a code point does not fit in one byte. */
export function encodeLatin1(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return undefined;
    out[i] = c;
  }
  return out;
}
