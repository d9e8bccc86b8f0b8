import { StorageError } from "../../errors/mod.ts";
import type { ErrorCode } from "../../errors/mod.ts";

/**
 * A request S3 (or a compatible store) refused or failed: names the bucket, the key, the HTTP status and the
 * S3 error code (`NoSuchBucket`, `SignatureDoesNotMatch`, `SlowDown`, ...) as fields and in the message.
 * `path` is the storage path (relative to the storage's prefix), as with every other backend. Never carries
 * request headers, so credentials cannot leak through an error.
 */
export class S3Error extends StorageError {
  /** The bucket the request went to. */
  readonly bucket: string;
  /** The object key (prefix included). */
  readonly key: string;
  /** HTTP status, or 0 when no response came (connection refused or dropped). */
  readonly status: number;
  /** The `<Code>` of S3's error body, or "" when it sent none (HEAD answers have no body). */
  readonly s3Code: string;

  /** `code` is webdcp's (see `errorCodeOf`); the message gets the status, S3 code and `s3://` URL appended. */
  constructor(
    code: ErrorCode,
    message: string,
    where: {
      bucket: string;
      key: string;
      status: number;
      s3Code: string;
      path: string;
      offset?: number;
      cause?: unknown;
    },
  ) {
    const status = where.status === 0 ? "no response" : `HTTP ${where.status}`;
    const s3 = where.s3Code === "" ? "" : ` ${where.s3Code}`;
    super(code, `${message}: ${status}${s3} for s3://${where.bucket}/${where.key}`, {
      path: where.path,
      offset: where.offset,
      cause: where.cause,
    });
    this.bucket = where.bucket;
    this.key = where.key;
    this.status = where.status;
    this.s3Code = where.s3Code;
  }
}

/** The webdcp code for an S3 answer: absence, refused credentials, or a plain I/O failure. */
export function errorCodeOf(status: number, s3Code: string): ErrorCode {
  if (status === 404 || s3Code === "NoSuchKey" || s3Code === "NoSuchBucket" || s3Code === "NoSuchUpload") {
    return "E_NOT_FOUND";
  }
  if (status === 401 || status === 403) return "E_DENIED";
  return "E_IO";
}

/** What S3 says went wrong, read from an `<Error>` body (absent on HEAD). */
export interface S3ErrorBody {
  code: string;
  message: string;
}
