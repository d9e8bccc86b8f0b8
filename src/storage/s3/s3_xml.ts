import { StorageError } from "../../errors/mod.ts";

/**
 * The few S3 XML answers webdcp reads (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload,
 * ListMultipartUploads, errors) are flat: each field is one element holding text. They are read with a
 * non-backtracking scan for `<Name>text</Name>` rather than a general XML parser, and only after the body
 * was checked to be of bounded size, so a hostile endpoint can neither recurse nor make us allocate.
 */

/** Largest XML answer accepted (a ListObjectsV2 page of 1000 long keys stays far below). */
export const MAX_XML_BYTES = 16 << 20;

/** The text of every `<name>` element directly holding text, in document order. */
export function elementTexts(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = `<${name}>`;
  const close = `</${name}>`;
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const start = at + open.length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    out.push(decodeEntities(xml.slice(start, end)));
    at = end + close.length;
  }
  return out;
}

/** The first `<name>` text, or undefined. */
export function elementText(xml: string, name: string): string | undefined {
  return elementTexts(xml, name)[0];
}

/** The raw inner XML of every `<name>...</name>` block (not decoded), e.g. each `<Contents>` of a listing. */
export function elementBlocks(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = `<${name}>`;
  const close = `</${name}>`;
  for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
    const start = at + open.length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    out.push(xml.slice(start, end));
    at = end + close.length;
  }
  return out;
}

/** A whole-number field, checked. */
export function integerField(block: string, name: string, where: string): number {
  const text = elementText(block, name);
  const n = text === undefined || !/^\d+$/.test(text.trim()) ? NaN : Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new StorageError("E_IO", `S3 answer has no valid <${name}>: '${text ?? ""}'`, { path: where });
  }
  return n;
}

/** XML-escapes text for a request body (CompleteMultipartUpload's ETags). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
  });
}
