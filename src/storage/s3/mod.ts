/**
 * The S3 backend: a `Storage` over a bucket and key prefix on AWS or a compatible store (MinIO, R2), requests
 * signed with SigV4 and retried with capped backoff, writes published on `close()` (one PUT or a multipart
 * upload), failures as `S3Error`s that name bucket, key, HTTP status and S3 code but never credentials.
 *
 * @example Point a storage at a local S3-compatible endpoint (nothing is sent until a read or write)
 * ```ts
 * import { parseS3Url, S3Storage } from "./mod.ts";
 *
 * const { bucket, prefix } = parseS3Url("s3://models/llama/step-100/");
 * if (bucket !== "models" || prefix !== "llama/step-100") throw new Error("bucket, then the key prefix");
 * const storage = S3Storage.fromUrl("s3://models/llama", {
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio-secret" },
 *   env: {}, // read nothing from the environment
 * });
 * if (storage.description !== "s3://models/llama" || storage.prefix !== "llama") throw new Error("its root");
 * ```
 * @module
 */
export { S3Storage } from "./s3_storage.ts";
export { S3Error } from "./s3_error.ts";
export { parseS3Url } from "./s3_config.ts";
export type { S3Credentials, S3RetryOptions, S3StorageOptions } from "./s3_config.ts";
