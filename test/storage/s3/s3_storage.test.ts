import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { S3Error, S3Storage } from "../../../src/storage/s3/mod.ts";
import type { S3StorageOptions } from "../../../src/storage/s3/mod.ts";
import { describeStorage, expectCode } from "../storage_spec.ts";
import { type Fault, type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import { type MotoServer, startMoto } from "./moto_server.ts";

const BUCKET = "webdcp-test";
const PART = 64 << 10;

let moto: MotoServer;
let proxy: FaultProxy;
let n = 0;

beforeAll(async () => {
  moto = await startMoto(inject("python"), PART);
  await moto.createBucket(BUCKET);
  proxy = await startFaultProxy(moto.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await moto?.stop();
});

/** A storage on a fresh prefix, through the fault proxy (which forwards untouched unless a test says so). */
function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  proxy.decide = () => undefined;
  return new S3Storage({ ...s3Options(), prefix: `t${++n}/root`, ...options });
}

/** The options every test storage shares: the bucket through the proxy, small parts, quick retries. */
function s3Options(): S3StorageOptions {
  return {
    bucket: BUCKET,
    endpoint: proxy.endpoint,
    credentials: moto.credentials,
    partSize: PART,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    env: {},
  };
}

/** A full garbage collection (V8's `gc`, exposed at run time: the test runner's workers start without it). */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Bytes that differ at every position modulo 251, so a shifted or repeated range is caught. */
function pattern(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) % 251);
}

const MiB = 1 << 20;

/** `bytes` stored as `name` on a fresh storage and opened, with the proxy's request count once it is open. */
async function openWritten(name: string, bytes: Uint8Array, options: Partial<S3StorageOptions> = {}) {
  const s = storage(options);
  await s.writeAll(name, bytes);
  const src = await s.open(name);
  return { src, before: proxy.requests.length };
}

/** The Range headers of the GETs the proxy saw from request `before` on. */
function getRanges(before: number): (string | undefined)[] {
  return proxy.requests.slice(before).filter((r) => r.method === "GET").map((r) => r.range);
}

async function writeInPieces(s: S3Storage, path: string, bytes: Uint8Array, piece: number): Promise<void> {
  const sink = await s.create(path);
  for (let at = 0; at < bytes.byteLength; at += piece) await sink.write(bytes.subarray(at, at + piece));
  await sink.close();
}

describeStorage("S3Storage (moto)", () => Promise.resolve(storage()), {
  implicitFolders: true,
  openSourceKeepsReplacedBytes: false,
});

describe("S3Storage: uploads", () => {
  it("a file larger than one part goes up as a multipart upload and reads back bit for bit", async () => {
    const s = storage();
    const bytes = pattern(5 * PART + 1234);
    const before = proxy.requests.length;
    await writeInPieces(s, "big/x.distcp", bytes, 10_000);
    const seen = proxy.requests.slice(before);
    expect(seen.filter((r) => r.method === "POST" && r.url.includes("?uploads")).length).toBe(1);
    expect(seen.filter((r) => r.method === "PUT" && r.url.includes("partNumber=")).length).toBe(6);
    // The version is the ETag: a multipart upload's names its part count.
    const info = await s.stat("big/x.distcp");
    expect(info).toMatchObject({ size: bytes.byteLength, version: expect.stringMatching(/^"[0-9a-f]{32}-6"$/) });
    expect(Buffer.from(await s.readAll("big/x.distcp")).equals(Buffer.from(bytes))).toBe(true);
    expect(await s.pendingUploads()).toEqual([]);
    // Other bytes of the same size: another version.
    await s.writeAll("big/x.distcp", pattern(bytes.byteLength, 1));
    expect(await s.stat("big/x.distcp")).toMatchObject({ size: bytes.byteLength });
    expect((await s.stat("big/x.distcp"))!.version).not.toBe(info!.version);
  });

  it("a file within one part is a single PUT", async () => {
    const s = storage();
    const before = proxy.requests.length;
    await writeInPieces(s, "small", pattern(PART - 1), 1000);
    const seen = proxy.requests.slice(before);
    expect(seen.some((r) => r.url.includes("uploads") && r.method === "POST")).toBe(false);
    expect(seen.filter((r) => r.method === "PUT").length).toBe(1);
  });

  it("abort() in the middle of a multipart upload leaves no object and no stored parts", async () => {
    // Five parts with two in flight: write() waits for some to go up, so the upload has surely been created.
    const s = storage({ partsInFlight: 2 });
    const sink = await s.create("x");
    await sink.write(pattern(5 * PART));
    expect((await s.pendingUploads()).length).toBe(1);
    await sink.abort();
    expect(await s.stat("x")).toBeUndefined();
    expect(await s.pendingUploads()).toEqual([]);
  });

  // Where the runtime lacks AbortSignal.any (Node before 20.3, older browsers), the client joins signals itself.
  // Garbage collections run meanwhile: Node's fetch follows a request's signal weakly and can lose the abort.
  for (const runtime of ["", " without AbortSignal.any"]) {
    it(`abort() cancels a part upload that hangs, garbage collected meanwhile, then aborts the upload: nothing stored remains${runtime}`, async () => {
      const any = AbortSignal.any;
      if (runtime) (AbortSignal as { any?: unknown }).any = undefined;
      const collections = setInterval(collectGarbage, 5);
      try {
        const s = storage();
        const sink = await s.create("hung");
        let hung = false;
        proxy.decide = (r) => (r.url.includes("partNumber=2&") ? ((hung = true), { hang: true }) : undefined);
        await sink.write(pattern(3 * PART));
        for (let i = 0; i < 200 && !hung; i++) await new Promise((r) => setTimeout(r, 20));
        expect(hung).toBe(true);
        await sink.abort();
        proxy.decide = () => undefined;
        expect(await s.stat("hung")).toBeUndefined();
        expect(await s.pendingUploads()).toEqual([]);
      } finally {
        clearInterval(collections);
        AbortSignal.any = any;
      }
    });
  }

  it("close() whose parts are refused fails with an S3Error, aborts the upload and publishes nothing", async () => {
    const s = storage();
    const sink = await s.create("refused.bin");
    proxy.decide = (r) => (r.url.includes("partNumber=2") ? { status: 403, code: "AccessDenied" } : undefined);
    const err = await (async () => {
      await sink.write(pattern(3 * PART));
      await sink.close();
    })().then(() => undefined, (e) => e);
    proxy.decide = () => undefined;
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({
      code: "E_DENIED",
      status: 403,
      s3Code: "AccessDenied",
      bucket: BUCKET,
      key: `${s.prefix}/refused.bin`,
    });
    await sink.abort();
    expect(await s.stat("refused.bin")).toBeUndefined();
    expect(await s.pendingUploads()).toEqual([]);
  });

  it("create() aborts the multipart upload a killed earlier writer of the same file left", async () => {
    // Two parts in flight at most, so write() returns only once some part went up (the upload exists).
    const s = storage({ partsInFlight: 2 });
    const dead = await s.create("f");
    await dead.write(pattern(5 * PART)); // never closed nor aborted: its process "died"
    expect((await s.pendingUploads()).map((u) => u.path)).toEqual(["f"]);
    await s.writeAll("f", pattern(10));
    expect(await s.pendingUploads()).toEqual([]);
    expect([...await s.readAll("f")]).toEqual([...pattern(10)]);
  });
});

describe("S3Storage: listings", () => {
  // S3 and moto answer at most 1000 keys per page.
  it("list() follows continuation tokens across pages", async () => {
    const s = storage();
    const names = Array.from({ length: 1005 }, (_, i) => `f${String(i).padStart(4, "0")}`);
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((f) => s.writeAll(`d/${f}`, pattern(1, i))));
    }
    const before = proxy.requests.length;
    const listed = await s.list("d");
    expect(listed!.map((e) => e.name)).toEqual(names);
    expect(proxy.requests.slice(before).filter((r) => r.url.includes("list-type=2")).length).toBeGreaterThan(1);
  });
});

describe("S3Storage: a listing answers stat() and open()", () => {
  /** A fresh storage holding files a (3 bytes), b (5) and c (7) in folder d, and the requests sent after listing d. */
  async function listed() {
    const s = storage();
    await Promise.all([["a", 3], ["b", 5], ["c", 7]].map(([f, n]) => s.writeAll(`d/${f}`, pattern(n as number))));
    await s.list("d");
    return { s, before: proxy.requests.length };
  }
  const methods = (before: number) => proxy.requests.slice(before).map((r) => r.method);

  it("stat() and open() of the files a listing named send no HEAD: only the reads go out", async () => {
    const { s, before } = await listed();
    expect((await s.stat("d/b"))?.size).toBe(5);
    expect((await s.stat("d/b"))?.version).toMatch(/^".+"$/);
    const src = await s.open("d/c");
    expect(src.size).toBe(7);
    expect([...await src.read(0, 7)]).toEqual([...pattern(7)]);
    await src.close();
    expect(methods(before)).toEqual(["GET"]);
    // A file the listing did not name is asked for.
    expect(await s.stat("d/zz")).toBeUndefined();
    expect(methods(before)).toEqual(["GET", "HEAD"]);
  });

  it("a listing gives the version a HEAD gives, for single and multipart uploads (finalize compares the two)", async () => {
    const s = storage();
    await s.writeAll("d/small", pattern(10));
    await s.writeAll("d/large", pattern(3 * PART + 5));
    const fromHead = await Promise.all(["d/small", "d/large"].map((f) => storage({ prefix: s.prefix }).stat(f)));
    await s.list("d");
    const fromListing = await Promise.all(["d/small", "d/large"].map((f) => s.stat(f)));
    expect(fromListing).toEqual(fromHead);
    expect(fromHead[1]?.version).toMatch(/-4"$/);
  });

  it("a file another writer replaced after the listing fails its reads with E_IO instead of mixing versions", async () => {
    const { s } = await listed();
    const other = new S3Storage({ ...s3Options(), prefix: s.prefix });
    await other.writeAll("d/c", pattern(7, 1));
    const src = await s.open("d/c");
    await expectCode(src.read(0, 7), "E_IO", { path: "d/c" });
    await src.close();
  });

  it("a write through the storage forgets its listings: the next stat() asks the store", async () => {
    const { s } = await listed();
    await s.writeAll("d/b", pattern(9));
    const before = proxy.requests.length;
    expect((await s.stat("d/b"))?.size).toBe(9);
    expect(methods(before)).toEqual(["HEAD"]);
  });

  it("remove() and rename() through the storage forget its listings too", async () => {
    const { s } = await listed();
    await s.remove("d/a");
    expect(await s.stat("d/a")).toBeUndefined();
    await s.list("d");
    await s.rename("d/b", "d/bb");
    expect(await s.stat("d/b")).toBeUndefined();
    expect((await s.stat("d/bb"))?.size).toBe(5);
  });

  it("a listing older than ten seconds answers nothing: stat() asks the store again", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const { s, before } = await listed();
      vi.setSystemTime(Date.now() + 10_001);
      expect((await s.stat("d/a"))?.size).toBe(3);
      expect(methods(before)).toEqual(["HEAD"]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("S3Storage: faults", () => {
  it("503 SlowDown and 500 answers are retried; the bytes written and read are exact", async () => {
    const s = storage();
    const bytes = pattern(4 * PART + 99, 3);
    proxy.decide = (
      _r,
      i,
    ) => (i % 3 === 0
      ? { status: 503, code: "SlowDown" }
      : i % 7 === 0
      ? { status: 500, code: "InternalError" }
      : undefined);
    const injected = proxy.injected;
    await writeInPieces(s, "r/x", bytes, 50_000);
    const src = await s.open("r/x");
    const back = new Uint8Array(bytes.byteLength);
    await Promise.all(
      [0, 1, 2, 3].map((k) => src.readInto!(k * PART, back.subarray(k * PART, k === 3 ? undefined : (k + 1) * PART))),
    );
    await src.close();
    proxy.decide = () => undefined;
    expect(proxy.injected - injected).toBeGreaterThan(3);
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
  });

  /** A body cut short: the connection dropped, or left open and silent (given up after stallTimeoutMs). */
  const cuts = [
    { how: "a connection dropped", fault: (at: number): Fault => ({ dropAfter: at }), options: {} },
    {
      how: "a body gone silent",
      fault: (at: number): Fault => ({ stallAfter: at }),
      options: { stallTimeoutMs: 1000 },
    },
  ];

  for (const { how, fault, options } of cuts) {
    it(`${how} in the middle of a ranged GET resumes at the byte it reached`, async () => {
      const s = storage(options);
      const bytes = pattern(200_000, 5);
      await s.writeAll("x", bytes);
      let made = 0;
      proxy.decide = (r) => (r.method === "GET" && r.range !== undefined && made++ < 3 ? fault(30_000) : undefined);
      const before = proxy.requests.length;
      const got = await s.read("x", 1000, 150_000);
      proxy.decide = () => undefined;
      expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(1000, 151_000)))).toBe(true);
      const ranges = getRanges(before);
      expect(ranges).toEqual(["bytes=1000-150999", "bytes=31000-150999", "bytes=61000-150999", "bytes=91000-150999"]);
    });
  }

  it("a part upload the server never answers is tried again after stallTimeoutMs: the file is stored whole", async () => {
    // Two parts in flight: a try of a 64 KiB part waits 1 s plus 0.5 s of upload time.
    const s = storage({ stallTimeoutMs: 1000, partsInFlight: 2 });
    let hangs = 0;
    proxy.decide = (r) => (r.url.includes("partNumber=2&") && hangs++ === 0 ? { hang: true } : undefined);
    const before = proxy.requests.length;
    const bytes = pattern(3 * PART + 17, 11);
    await s.writeAll("unanswered.bin", bytes);
    proxy.decide = () => undefined;
    expect(hangs).toBe(2);
    expect(proxy.requests.slice(before).filter((r) => r.url.includes("partNumber=2&")).length).toBe(2);
    expect(Buffer.from(await s.readAll("unanswered.bin")).equals(Buffer.from(bytes))).toBe(true);
    expect(await s.pendingUploads()).toEqual([]);
  });

  it("a request never answered in any try fails naming the wait, bucket and key", async () => {
    const s = storage({ stallTimeoutMs: 1000, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    await s.writeAll("quiet", pattern(1000));
    proxy.decide = (r) => (r.method === "HEAD" ? { hang: true } : undefined);
    const err = await s.stat("quiet").then(() => undefined, (e) => e);
    proxy.decide = () => undefined;
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({ bucket: BUCKET, key: `${s.prefix}/quiet` });
    expect(err.message).toMatch(/failed after 2 tries \(no answer within 1000 ms\)/);
  });

  it("a listing whose XML answer falls silent fails once stallTimeoutMs passed instead of waiting for ever", async () => {
    const s = storage({ stallTimeoutMs: 1000 });
    await s.writeAll("d/a", pattern(10));
    proxy.decide = (r) => (r.url.includes("list-type=2") ? { stallAfter: 20 } : undefined);
    const err = await s.list("d").then(() => undefined, (e) => e);
    proxy.decide = () => undefined;
    expect(err).toBeInstanceOf(S3Error);
    expect(err.message).toMatch(/answer gave nothing for 1000 ms after 20 bytes/);
  });

  it("the longest stall timeout still lets uploads through (the wait is capped at the longest timer)", async () => {
    const s = storage({ stallTimeoutMs: 2 ** 31 - 1 });
    const bytes = pattern(2 * PART + 5, 12);
    await s.writeAll("patient.bin", bytes);
    expect(Buffer.from(await s.readAll("patient.bin")).equals(Buffer.from(bytes))).toBe(true);
  });

  it("reads that follow one another share one GET; a small read a little before its end joins from kept bytes", async () => {
    const bytes = pattern(6 * MiB + 999, 7);
    const { src, before } = await openWritten("seq", bytes);
    // Bands in flight together, as the pipeline reads them; then a header read 700 bytes before the next
    // band and that band (a torch record inside its archive); then a skip of 100 KiB.
    const bands = await Promise.all([0, 1, 2].map((i) => src.read(i * MiB, MiB)));
    const header = await src.read(3 * MiB - 700, 16 << 10);
    const record = await src.read(3 * MiB - 700 + 704, MiB);
    const after = await src.read(4 * MiB + 704 + (100 << 10), MiB + 999 - 704 - (100 << 10));
    await src.close();
    const want = (from: number, n: number) => Buffer.from(bytes.subarray(from, from + n));
    bands.forEach((b, i) => expect(Buffer.from(b).equals(want(i * MiB, MiB))).toBe(true));
    expect(Buffer.from(header).equals(want(3 * MiB - 700, 16 << 10))).toBe(true);
    expect(Buffer.from(record).equals(want(3 * MiB + 4, MiB))).toBe(true);
    expect(Buffer.from(after).equals(want(4 * MiB + 704 + (100 << 10), after.byteLength))).toBe(true);
    const gets = getRanges(before);
    expect(gets).toEqual([`bytes=0-${bytes.byteLength - 1}`]);
  });

  it("bands that arrive out of order share one GET: a read past the others leaves a gap the late one reads", async () => {
    const bytes = pattern(8 * MiB + 5, 11);
    const { src, before } = await openWritten("gaps", bytes);
    // As a pipeline's reads come: the band after next before the next one, twice; every read in flight together.
    const order = [0, 2, 1, 4, 3, 5];
    const got = await Promise.all(order.map((i) => src.read(i * MiB, MiB)));
    const tail = await src.read(6 * MiB, 2 * MiB + 5);
    await src.close();
    order.forEach((i, k) =>
      expect(Buffer.from(got[k]).equals(Buffer.from(bytes.subarray(i * MiB, (i + 1) * MiB)))).toBe(true)
    );
    expect(Buffer.from(tail).equals(Buffer.from(bytes.subarray(6 * MiB)))).toBe(true);
    const gets = getRanges(before);
    expect(gets).toEqual([`bytes=0-${bytes.byteLength - 1}`]);
  });

  it("a stream opened behind another stops where that one begins: no byte is asked for twice", async () => {
    const bytes = pattern(30 * MiB, 13);
    const { src, before } = await openWritten("behind", bytes);
    const ahead = await src.read(20 * MiB, MiB);
    const behind = await src.read(2 * MiB, MiB);
    await src.close();
    expect(Buffer.from(ahead).equals(Buffer.from(bytes.subarray(20 * MiB, 21 * MiB)))).toBe(true);
    expect(Buffer.from(behind).equals(Buffer.from(bytes.subarray(2 * MiB, 3 * MiB)))).toBe(true);
    const gets = getRanges(before);
    expect(gets).toEqual([`bytes=${20 * MiB}-${30 * MiB - 1}`, `bytes=${2 * MiB}-${20 * MiB - 1}`]);
  });

  it("a read stream asks for one window at a time: a read across a window's end goes on with the next", async () => {
    const bytes = pattern(5 * MiB + 77, 3);
    const { src, before } = await openWritten("win", bytes, { readWindow: 2 * MiB });
    const a = await src.read(0, MiB + 500);
    const b = await src.read(MiB + 500, 3 * MiB);
    const c = await src.read(4 * MiB + 500, MiB - 423);
    await src.close();
    expect(Buffer.from(a).equals(Buffer.from(bytes.subarray(0, MiB + 500)))).toBe(true);
    expect(Buffer.from(b).equals(Buffer.from(bytes.subarray(MiB + 500, 4 * MiB + 500)))).toBe(true);
    expect(Buffer.from(c).equals(Buffer.from(bytes.subarray(4 * MiB + 500)))).toBe(true);
    const gets = getRanges(before);
    // The second window is as long as what is left of the read that opens it.
    expect(gets).toEqual([
      `bytes=0-${2 * MiB - 1}`,
      `bytes=${2 * MiB}-${4 * MiB + 499}`,
      `bytes=${4 * MiB + 500}-${5 * MiB + 76}`,
    ]);
  });

  for (const { how, fault, options } of cuts) {
    it(`a stream whose body is cut (${how}) hands its reads to ranged GETs: every byte exact`, async () => {
      const bytes = pattern(4 * MiB, 9);
      const { src, before } = await openWritten("cut", bytes, options);
      let cut = false;
      proxy.decide = (r) => r.method === "GET" && !cut ? ((cut = true), fault(MiB + 12_345)) : undefined;
      const got = await Promise.all([0, 1, 2, 3].map((i) => src.read(i * MiB, MiB)));
      proxy.decide = () => undefined;
      await src.close();
      expect(cut).toBe(true);
      got.forEach((b, i) =>
        expect(Buffer.from(b).equals(Buffer.from(bytes.subarray(i * MiB, (i + 1) * MiB)))).toBe(true)
      );
      const gets = getRanges(before);
      expect(gets[0]).toBe(`bytes=0-${4 * MiB - 1}`);
      // The band cut short resumes at the byte it reached; the bands queued behind it fetch themselves.
      expect(gets).toContain(`bytes=${MiB + 12_345}-${2 * MiB - 1}`);
    });
  }

  it("gives up after the configured tries with an error naming bucket, key, status and S3 code", async () => {
    const s = storage({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await s.writeAll("y", pattern(10));
    const src = await s.open("y");
    proxy.decide = () => ({ status: 503, code: "SlowDown" });
    const err = await src.read(0, 10).then(() => undefined, (e) => e);
    proxy.decide = () => undefined;
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({
      code: "E_IO",
      status: 503,
      s3Code: "SlowDown",
      bucket: BUCKET,
      key: `${s.prefix}/y`,
      path: "y",
    });
    expect(String(err.message)).toContain("after 3 tries");
    expect(String(err.message)).toContain(`s3://${BUCKET}/${s.prefix}/y`);
  });
});

describe("S3Storage: refusals", () => {
  it("a wrong secret key is E_DENIED (SignatureDoesNotMatch) and the secret appears nowhere in the error", async () => {
    const secret = "not-the-right-secret-0123456789";
    const s = storage({ credentials: { accessKeyId: moto.credentials.accessKeyId, secretAccessKey: secret } });
    const err = await s.list("").then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(S3Error);
    expect(err).toMatchObject({ code: "E_DENIED", status: 403, s3Code: "SignatureDoesNotMatch", bucket: BUCKET });
    expect(JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) })).not.toContain(secret);
  });

  it("an unknown access key is E_DENIED (InvalidAccessKeyId)", async () => {
    const s = storage({ credentials: { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" } });
    await expectCode(s.list(""), "E_DENIED");
    const err = await s.writeAll("z", pattern(3)).then(() => undefined, (e) => e);
    expect(err).toMatchObject({ status: 403, s3Code: "InvalidAccessKeyId" });
  });

  it("a missing bucket is E_NOT_FOUND (NoSuchBucket) naming the bucket", async () => {
    const s = storage({ bucket: "no-such-bucket-here" });
    const err = await s.list("").then(() => undefined, (e) => e);
    expect(err).toMatchObject({
      code: "E_NOT_FOUND",
      status: 404,
      s3Code: "NoSuchBucket",
      bucket: "no-such-bucket-here",
    });
    expect(err.message).toContain("s3://no-such-bucket-here/");
    await expectCode(s.writeAll("a", pattern(1)), "E_NOT_FOUND");
  });

  it("missing credentials are a usage error naming the environment variables", () => {
    expect(() => new S3Storage({ bucket: BUCKET, env: {} })).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});
