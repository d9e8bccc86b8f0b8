import { AwsClient } from "aws4fetch";
import { StorageError } from "../../errors/mod.ts";
import { STALLED, StallWatch } from "../stall.ts";
import { MAX_TIMER_MS, type S3Config } from "./s3_config.ts";
import { errorCodeOf, S3Error } from "./s3_error.ts";
import { elementText, MAX_XML_BYTES } from "./s3_xml.ts";

/** One S3 request: what it is for (the storage path, for errors) and which answers the caller handles. */
export interface S3Request {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** The full object key; undefined for a bucket-level request (listings). */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
  /** Storage path the request is about (errors name it), and the file offset for reads. */
  path: string;
  offset?: number;
  /** Short description for errors, e.g. "GET bytes 0-99". */
  what: string;
  /** Statuses handed back to the caller; anything else is retried (when transient) or thrown as S3Error. */
  accept: readonly number[];
  /** Cancels the request (and its retries): a sink being aborted stops its part uploads. */
  signal?: AbortSignal;
}

/**
 * The slowest uplink a try's body is given time for, beyond the stall timeout: 256 KiB per second shared by
 * `partsInFlight` uploads (fetch shows no progress of a body going up, so its time is allowed for in full).
 */
const UPLINK_BYTES_PER_MS = (256 << 10) / 1000;

/** HTTP statuses S3 uses for "try again": throttling (503 SlowDown, 429) and server-side failures. */
const RETRY_STATUSES = new Set([500, 502, 503, 504, 429]);
/** S3 error codes that say the same, sometimes with another status (400 RequestTimeout). */
const RETRY_CODES = new Set([
  "SlowDown",
  "InternalError",
  "RequestTimeout",
  "ServiceUnavailable",
  "ThrottlingException",
]);

/**
 * Signs (SigV4, through aws4fetch) and sends S3 requests, retrying transient failures with capped
 * exponential backoff and full jitter. Each try is signed afresh, so a long backoff never sends a stale
 * signature. Every failure becomes an `S3Error` naming bucket, key, status and S3 code.
 */
export class S3Client {
  readonly config: S3Config;
  readonly #signer: AwsClient;

  constructor(config: S3Config) {
    this.config = config;
    const { accessKeyId, secretAccessKey, sessionToken } = config.credentials;
    this.#signer = new AwsClient({ accessKeyId, secretAccessKey, sessionToken, service: "s3", region: config.region });
  }

  /** The URL of `key` (or of the bucket when undefined), each key segment percent-encoded. */
  url(key: string | undefined, query?: Record<string, string>): string {
    const { endpoint, bucket, pathStyle } = this.config;
    const encoded = key === undefined ? "" : key.split("/").map(encodeRfc3986).join("/");
    let base: string;
    if (pathStyle) base = `${endpoint}/${bucket}/${encoded}`;
    else {
      const u = new URL(endpoint);
      base = `${u.protocol}//${bucket}.${u.host}${u.pathname.replace(/\/$/, "")}/${encoded}`;
    }
    if (!query) return base;
    const q = Object.entries(query).map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join("&");
    return `${base}?${q}`;
  }

  /** `s3://bucket/key` for messages. */
  s3Url(key: string): string {
    return `s3://${this.config.bucket}/${key}`;
  }

  /**
   * Sends `req` until it gets an accepted status, a permanent error, or runs out of tries. A try whose
   * answer has not begun within the stall timeout, after the time its body takes on a slow uplink
   * (UPLINK_BYTES_PER_MS), is given up and retried.
   */
  async send(req: S3Request): Promise<Response> {
    const url = this.url(req.key, req.query);
    const { stallTimeoutMs, partsInFlight } = this.config;
    const upload = Math.ceil(((req.body?.byteLength ?? 0) * partsInFlight) / UPLINK_BYTES_PER_MS);
    const waitMs = Math.min(stallTimeoutMs + upload, MAX_TIMER_MS);
    for (let attempt = 1;; attempt++) {
      let response: Response;
      const stall = new AbortController();
      const timer = setTimeout(() => stall.abort(), waitMs);
      try {
        const signals = req.signal ? [req.signal, stall.signal] : [stall.signal];
        const signal = req.signal ? eitherSignal(req.signal, stall.signal) : stall.signal;
        const init = { method: req.method, headers: req.headers, body: req.body, signal };
        response = await orAborted(this.config.fetch(await this.#signer.sign(url, init)), signals);
      } catch (cause) {
        if (attempt < this.config.retry.attempts && !req.signal?.aborted) {
          await this.backoff(attempt);
          continue;
        }
        const why = stall.signal.aborted ? `no answer within ${waitMs} ms` : (cause as Error)?.message ?? cause;
        throw this.error(req, 0, "", `${req.what} failed after ${attempt} tries (${why})`, cause);
      } finally {
        // Also when signing failed: a timer left running would keep the process alive until it fires.
        clearTimeout(timer);
      }
      if (req.accept.includes(response.status)) return response;
      const body = req.method === "HEAD" ? "" : await this.#text(response, 64 << 10).catch(() => "");
      const s3Code = elementText(body, "Code") ?? "";
      if ((RETRY_STATUSES.has(response.status) || RETRY_CODES.has(s3Code)) && attempt < this.config.retry.attempts) {
        await this.backoff(attempt);
        continue;
      }
      // HEAD answers carry no error body, so no S3 code: say what a bare 403 usually means.
      const message = elementText(body, "Message") ??
        (response.status === 403 ? "access denied: wrong credentials, or no permission for this key" : undefined);
      const tries = attempt > 1 ? ` after ${attempt} tries` : "";
      throw this.error(req, response.status, s3Code, `${req.what} refused${tries}${message ? ` (${message})` : ""}`);
    }
  }

  /** Sends `req` and returns its (bounded) XML answer, refusing an `<Error>` sent with a 200 status. */
  async sendXml(req: S3Request): Promise<{ status: number; xml: string }> {
    const response = await this.send(req);
    const xml = await this.#text(response, MAX_XML_BYTES).catch((cause) => {
      throw this.error(req, response.status, "", `${req.what}: ${(cause as Error).message}`, cause);
    });
    // CompleteMultipartUpload and CopyObject can fail after their 200 header was sent.
    if (response.ok && /^\s*(<\?xml[^>]*>)?\s*<Error>/.test(xml)) {
      const code = elementText(xml, "Code") ?? "";
      if (RETRY_CODES.has(code)) {
        // The server asks for a retry of a request whose effect it did not apply.
        return await this.#retryAfterLateError(req, code);
      }
      throw this.error(
        req,
        response.status,
        code,
        `${req.what} failed (${elementText(xml, "Message") ?? "no message"})`,
      );
    }
    return { status: response.status, xml };
  }

  async #retryAfterLateError(req: S3Request, code: string): Promise<{ status: number; xml: string }> {
    for (let attempt = 1; attempt < this.config.retry.attempts; attempt++) {
      await this.backoff(attempt);
      const response = await this.send(req);
      const xml = await this.#text(response, MAX_XML_BYTES);
      if (!/^\s*(<\?xml[^>]*>)?\s*<Error>/.test(xml)) return { status: response.status, xml };
      code = elementText(xml, "Code") ?? code;
    }
    throw this.error(req, 200, code, `${req.what} failed after ${this.config.retry.attempts} tries`);
  }

  /** An answer's body as text (at most `limit` bytes; one silent for the stall timeout fails). */
  #text(response: Response, limit: number): Promise<string> {
    return boundedText(response, limit, this.config.stallTimeoutMs);
  }

  /** Waits before try `attempt + 1`: a random time up to the capped exponential ceiling (full jitter). */
  backoff(attempt: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.config.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
  }

  error(
    req: { key?: string; query?: Record<string, string>; path: string; offset?: number },
    status: number,
    s3Code: string,
    message: string,
    cause?: unknown,
  ): S3Error {
    return new S3Error(errorCodeOf(status, s3Code), message, {
      bucket: this.config.bucket,
      // A listing is about its prefix.
      key: req.key ?? req.query?.prefix ?? "",
      status,
      s3Code,
      path: req.path || ".",
      offset: req.offset,
      cause,
    });
  }
}

/**
 * `pending` (a fetch given `signals`), or a rejection with the reason of the first of them to abort. The fetch
 * alone may never see the abort: Node's fetch (undici) follows a request's signal through weak references, so
 * after a garbage collection a fetch that hangs can miss it (and the stall timeout with it). A fetch given up
 * here that is answered later has its answer's body cancelled.
 */
function orAborted(pending: Promise<Response>, signals: readonly AbortSignal[]): Promise<Response> {
  const listeners: [AbortSignal, () => void][] = [];
  const aborted = new Promise<never>((_, reject) => {
    for (const s of signals) {
      if (s.aborted) reject(s.reason);
      const onAbort = () => reject(s.reason);
      s.addEventListener("abort", onAbort, { once: true });
      listeners.push([s, onAbort]);
    }
  });
  const settled = Promise.race([pending, aborted]).finally(() => {
    for (const [s, onAbort] of listeners) s.removeEventListener("abort", onAbort);
  });
  settled.catch(() => pending.then((r) => r.body?.cancel().catch(() => {}), () => {}));
  return settled;
}

/**
 * A signal aborted when either is: `AbortSignal.any` where the runtime has it (Node 20.3+, Safari 17.4+), else
 * by listeners.
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === "function") return AbortSignal.any([a, b]);
  const either = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) either.abort(s.reason);
    else s.addEventListener("abort", () => either.abort(s.reason), { once: true });
  }
  return either.signal;
}

/**
 * The body as text, refusing more than `limit` bytes without buffering them, and a body that gives nothing
 * for `stallMs`.
 */
async function boundedText(response: Response, limit: number, stallMs: number): Promise<string> {
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const watch = new StallWatch(stallMs);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const read = await watch.read(reader.read());
      if (read === STALLED) {
        await reader.cancel().catch(() => {});
        throw new StorageError("E_IO", `answer gave nothing for ${stallMs} ms after ${total} bytes`);
      }
      const { done, value } = read;
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw new StorageError("E_IO", `answer is larger than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    watch.stop();
    try {
      reader.releaseLock();
    } catch {
      // An older streams implementation refuses while the abandoned read of a stalled answer is pending.
    }
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.byteLength));
  return new TextDecoder().decode(out);
}

/** Percent-encodes all but the RFC 3986 unreserved characters, as SigV4 wants. */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
