import { UsageError } from "../../errors/mod.ts";

/** Keys for signing requests. Never logged and never put into an error. */
export interface S3Credentials {
  /** The access key id (`AWS_ACCESS_KEY_ID`). */
  accessKeyId: string;
  /** The secret key (`AWS_SECRET_ACCESS_KEY`). */
  secretAccessKey: string;
  /** The session token of temporary keys (`AWS_SESSION_TOKEN`). */
  sessionToken?: string;
}

/** How requests are retried: up to `attempts` tries in all, waits drawn in [0, min(maxDelayMs, baseDelayMs * 2^n)]. */
export interface S3RetryOptions {
  /** Tries per request, the first included (default 8). */
  attempts?: number;
  /** First backoff ceiling in ms (default 100). */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 10 000). */
  maxDelayMs?: number;
}

/** Where an `S3Storage` points and how it talks to the store; unset fields come from the environment. */
export interface S3StorageOptions {
  /** The bucket's name. */
  bucket: string;
  /** The folder inside the bucket that is this storage's root ("" or omitted: the whole bucket). */
  prefix?: string;
  /** Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1. */
  region?: string;
  /**
   * An S3-compatible endpoint (MinIO, R2, a test server), e.g. `http://127.0.0.1:9000`. Default:
   * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS itself (`https://s3.<region>.amazonaws.com`).
   */
  endpoint?: string;
  /** Default: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` from the environment. */
  credentials?: S3Credentials;
  /**
   * Bucket in the URL path (`<endpoint>/<bucket>/<key>`) rather than in the host name. Default: true with a
   * custom endpoint (most compatible stores want it), false for AWS.
   */
  pathStyle?: boolean;
  /**
   * Bytes per multipart-upload part (default 8 MiB, as awscli's). Files up to this size are one PUT. S3 wants parts of at
   * least 5 MiB (but the last) and at most 10 000 of them; after every 1000 parts the part size doubles, so any
   * object up to S3's 5 TiB limit fits. Memory per open sink is about `partSize * (2 * partsInFlight + 1)`:
   * the filling buffer, and each part in flight with the copy fetch makes of its body.
   */
  partSize?: number;
  /**
   * Parts of one file uploaded at once (default 8): 8 parts of 8 MiB beat 4 of 16 MiB by ~13% in a bucket-to-bucket
   * convert (bench/RESULTS.md, 2026-12-05 19:10), at about the same memory.
   */
  partsInFlight?: number;
  /**
   * Bytes one read stream asks for (default 128 MiB, at least 1 MiB): reads that follow one another through an
   * object share one GET of this window instead of a request each (see `S3Source`). Each window's end costs the
   * stream a round trip before its next byte: with 20 ms round trips a bucket-to-bucket convert took 6% longer
   * with 32 MiB windows than with 128, and 64 and 256 MiB did as well as 128 (bench/RESULTS.md, round fifteen).
   * A stream given up sooner costs only the bytes already on their way, whatever its window.
   */
  readWindow?: number;
  /** How failed requests (no response, 5xx, throttling, stalls) are retried. */
  retry?: S3RetryOptions;
  /**
   * How long a try may make no progress before it is given up (default 60 000 ms, botocore's read timeout): its
   * answer must begin within this time after its body could have gone up at 256 KiB/s shared by
   * `partsInFlight` uploads (an 8 MiB part of 8 in flight: 5.3 minutes in all), else the try is retried; an
   * object's body must give bytes at least this often, else the read resumes at the byte it reached; an XML
   * answer that falls silent fails its request. Raise it (or lower `partsInFlight`) for an uplink slower than
   * about 2 Mbit/s.
   */
  stallTimeoutMs?: number;
  /** The fetch to use (default: the global one); tests and proxies inject their own. */
  fetch?: typeof fetch;
  /** Where defaults are read from (default: the process environment where there is one). */
  env?: Record<string, string | undefined>;
}

/** The options with every default filled in and checked. */
export interface S3Config {
  bucket: string;
  prefix: string;
  region: string;
  /** `scheme://host[:port]` with no trailing slash. */
  endpoint: string;
  pathStyle: boolean;
  credentials: S3Credentials;
  partSize: number;
  partsInFlight: number;
  readWindow: number;
  retry: Required<S3RetryOptions>;
  stallTimeoutMs: number;
  fetch: (input: Request) => Promise<Response>;
}

const MIN_PART_SIZE = 64 << 10;
/** Timers longer than this (about 24.8 days) fire at once in browsers, Node and Deno. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves options and environment into a config, refusing what cannot work with a usage error. */
export function resolveS3Config(options: S3StorageOptions): S3Config {
  const env = options.env ?? processEnv();
  const bucket = options.bucket;
  if (!/^[a-z0-9][a-z0-9.\-_]{1,254}$/i.test(bucket ?? "")) {
    throw new UsageError("E_USAGE", `not a bucket name: '${bucket}'`);
  }
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const custom = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const endpoint = parseEndpoint(custom ?? `https://s3.${region}.amazonaws.com`);
  const credentials = options.credentials ?? credentialsFromEnv(env);
  const partSize = options.partSize ?? 8 << 20;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > 2 ** 31) {
    throw new UsageError("E_USAGE", `partSize must be between ${MIN_PART_SIZE} bytes and 2 GiB, got ${partSize}`);
  }
  const partsInFlight = options.partsInFlight ?? 8;
  if (!Number.isSafeInteger(partsInFlight) || partsInFlight < 1) {
    throw new UsageError("E_USAGE", `partsInFlight must be a positive integer, got ${partsInFlight}`);
  }
  const readWindow = options.readWindow ?? 128 << 20;
  if (!Number.isSafeInteger(readWindow) || readWindow < 1 << 20) {
    throw new UsageError("E_USAGE", `readWindow must be at least 1 MiB, got ${readWindow}`);
  }
  const retry = {
    attempts: options.retry?.attempts ?? 8,
    baseDelayMs: options.retry?.baseDelayMs ?? 100,
    maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
  };
  if (
    !Number.isSafeInteger(retry.attempts) || retry.attempts < 1 || !(retry.baseDelayMs >= 0) || !(retry.maxDelayMs >= 0)
  ) {
    throw new UsageError("E_USAGE", "retry.attempts must be >= 1 and the delays >= 0");
  }
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  if (!Number.isSafeInteger(stallTimeoutMs) || stallTimeoutMs < 1 || stallTimeoutMs > MAX_TIMER_MS) {
    throw new UsageError(
      "E_USAGE",
      `stallTimeoutMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${stallTimeoutMs}`,
    );
  }
  const given = options.fetch;
  return {
    bucket,
    prefix: trimSlashes(options.prefix ?? ""),
    region,
    endpoint,
    pathStyle: options.pathStyle ?? (custom !== undefined || bucket.includes(".")),
    credentials,
    partSize,
    partsInFlight,
    readWindow,
    retry,
    stallTimeoutMs,
    // Called unbound: browsers reject window.fetch invoked with another object as `this`.
    fetch: given ? (r) => given(r) : (r) => globalThis.fetch(r),
  };
}

/** `s3://bucket/some/prefix` as bucket and prefix. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new UsageError("E_USAGE", `not an s3:// URL: '${url}'`);
  return { bucket: m[1], prefix: trimSlashes(m[2]) };
}

function credentialsFromEnv(env: Record<string, string | undefined>): S3Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(
      "E_USAGE",
      "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys)",
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new UsageError("E_USAGE", `not an endpoint URL: '${text}'`, { cause });
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") {
    throw new UsageError("E_USAGE", `the S3 endpoint must be an http(s) URL without query, got '${text}'`);
  }
  return url.href.replace(/\/+$/, "");
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

function processEnv(): Record<string, string | undefined> {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  if (p?.env) return p.env;
  const deno = (globalThis as { Deno?: { env?: { toObject(): Record<string, string> } } }).Deno;
  try {
    return deno?.env?.toObject() ?? {};
  } catch {
    // Deno without --allow-env: only what is passed in counts.
    return {};
  }
}
