export { S3Storage } from "./s3_storage.ts";
export { S3Error } from "./s3_error.ts";
export { parseS3Url } from "./s3_config.ts";
export type { S3Credentials, S3RetryOptions, S3StorageOptions } from "./s3_config.ts";
