import type { S3Credentials } from "../../src/storage/s3/mod.ts";

/** An S3-compatible server that a bench started on 127.0.0.1 (moto, gofakes3 or SeaweedFS), with its buckets made. */
export interface BenchS3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A key pair (any is accepted). */
  credentials: S3Credentials;
  /** The environment that points AWS tools (webdcp's CLI, s3fs, awscli) at this server. */
  env: Record<string, string>;
  pid: number;
  stop(): Promise<void>;
}
