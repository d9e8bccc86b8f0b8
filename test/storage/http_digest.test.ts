import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { announcedSha256 } from "../../src/storage/http/http_digest.ts";

const bytes = new TextEncoder().encode("webdcp");
const hex = createHash("sha256").update(bytes).digest("hex");
const b64 = createHash("sha256").update(bytes).digest("base64");

describe("announcedSha256()", () => {
  it("reads Repr-Digest, Digest, x-amz-checksum-sha256 and X-Linked-ETag as lowercase hex", () => {
    expect(announcedSha256(new Headers({ "repr-digest": `sha-512=:AAAA:, sha-256=:${b64}:` }))).toBe(hex);
    expect(announcedSha256(new Headers({ digest: `MD5=AAAA, SHA-256=${b64}` }))).toBe(hex);
    expect(announcedSha256(new Headers({ "x-amz-checksum-sha256": b64 }))).toBe(hex);
    expect(announcedSha256(new Headers({ "x-linked-etag": `"${hex.toUpperCase()}"` }))).toBe(hex);
  });

  it("ignores what is no whole-file SHA-256: other algorithms, S3's multipart composite, short or malformed values", () => {
    expect(announcedSha256(new Headers({ "repr-digest": "sha-512=:AAAA:" }))).toBeUndefined();
    expect(announcedSha256(new Headers({ "x-amz-checksum-sha256": `${b64}-3` }))).toBeUndefined();
    expect(announcedSha256(new Headers({ digest: "SHA-256=AAAA" }))).toBeUndefined();
    expect(announcedSha256(new Headers({ "repr-digest": "sha-256=:!!!:" }))).toBeUndefined();
    expect(announcedSha256(new Headers({ "x-linked-etag": '"abc123"', etag: `"${hex}"` }))).toBeUndefined();
    expect(announcedSha256(new Headers())).toBeUndefined();
  });
});
