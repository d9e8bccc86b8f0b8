/**
 * The SHA-256 of a whole file as a server announces it in a response header, lowercase hex, or undefined:
 * `Repr-Digest: sha-256=:<base64>:` (RFC 9530, about the whole representation, so a ranged answer carries
 * it too), `Digest: SHA-256=<base64>` (RFC 3230), `x-amz-checksum-sha256: <base64>` (S3 and its kin; a
 * multipart upload's composite `<base64>-<parts>` is no file digest and is ignored) and Hugging Face's
 * `X-Linked-ETag: "<hex>"` (the SHA-256 of an LFS file). A cross-origin server must list the header in
 * `Access-Control-Expose-Headers` for a page to see it.
 */
export function announcedSha256(headers: Headers): string | undefined {
  const repr = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]+={0,2}):/i.exec(headers.get("repr-digest") ?? "")?.[1];
  const digest = /(?:^|,)\s*sha-256=([A-Za-z0-9+/]+={0,2})\s*(?:,|$)/i.exec(headers.get("digest") ?? "")?.[1];
  const amz = /^\s*([A-Za-z0-9+/]+={0,2})\s*$/.exec(headers.get("x-amz-checksum-sha256") ?? "")?.[1];
  for (const b64 of [repr, digest, amz]) {
    const hex = b64 === undefined ? undefined : base64ToHex(b64);
    if (hex?.length === 64) return hex;
  }
  return /^\s*(?:W\/)?"?([0-9a-f]{64})"?\s*$/i.exec(headers.get("x-linked-etag") ?? "")?.[1].toLowerCase();
}

function base64ToHex(b64: string): string | undefined {
  try {
    return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}
