import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { S3Storage } from "../../../src/storage/s3/mod.ts";
import { filesOf, type RangeServer, startRangeServer } from "../range_server.ts";
import { python, webdcp, webdcpBackground } from "./cli_run.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import { type MotoServer, startMoto } from "./moto_server.ts";

/**
 * PyTorch saves a 2-rank DCP checkpoint to a real S3 API server (moto, checking signatures) through
 * torch.distributed.checkpoint's fsspec writer; webdcp's CLI reads, converts and reshards it bucket to bucket;
 * PyTorch's fsspec reader (and safetensors through s3fs) loads webdcp's output.
 */
const BUCKET = "ckpts";
/** model.w is ROWS x 64 float32 (20 MiB): webdcp writes a file holding it as a multipart upload of 8 MiB parts. */
const ROWS = 81920;

let moto: MotoServer;
let proxy: FaultProxy;
let dir: string;
let expected: string;
const py = () => inject("python");

function bucket(prefix: string): S3Storage {
  return new S3Storage({ bucket: BUCKET, prefix, endpoint: moto.endpoint, credentials: moto.credentials, env: {} });
}

function load(mode: "dcp" | "safetensors-bf16", prefix: string): unknown {
  return python(py(), "load_fsspec.py", [moto.endpoint, mode, `s3://${BUCKET}/${prefix}`, expected], moto.env);
}

async function sameObjects(a: string, b: string): Promise<void> {
  const [sa, sb] = [bucket(a), bucket(b)];
  const names = (await sa.list(""))!.map((e) => e.name);
  expect((await sb.list(""))!.map((e) => e.name)).toEqual(names);
  for (const name of names) {
    expect(Buffer.from(await sb.readAll(name)).equals(Buffer.from(await sa.readAll(name))), name).toBe(true);
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-s3-"));
  expected = nodePath.join(dir, "expected.pt");
  moto = await startMoto(py());
  await moto.createBucket(BUCKET);
  proxy = await startFaultProxy(moto.endpoint);
  python(py(), "save_fsspec.py", [moto.endpoint, `s3://${BUCKET}/ckpt`, "2", String(ROWS), expected], moto.env);
});
afterAll(async () => {
  await proxy?.close();
  await moto?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("webdcp on a bucket PyTorch saved to (moto, torch fsspec + s3fs)", () => {
  test("inspect and verify read the checkpoint PyTorch's fsspec writer saved", async () => {
    const r = await webdcp(["inspect", `s3://${BUCKET}/ckpt`, "--json"], moto.env);
    expect(r.err).toBe("");
    const report = JSON.parse(r.out);
    expect(report.format).toBe("dcp");
    const w = report.tensors.find((t: { name: string }) => t.name === "model.w");
    expect(w).toMatchObject({ dtype: "float32", shape: [ROWS, 64], chunks: 2 });
    const v = await webdcp(["verify", `s3://${BUCKET}/ckpt`], moto.env);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toContain("sound");
  });

  test("convert to bf16 safetensors bucket to bucket: safetensors loads every shard, equal to torch's .to(bfloat16)", async () => {
    const r = await webdcp([
      "convert",
      `s3://${BUCKET}/ckpt`,
      `s3://${BUCKET}/st`,
      "--to",
      "safetensors",
      "--dtype",
      "bfloat16",
      "--max-shard-size",
      "4MB",
    ], moto.env);
    expect(r.code, r.err).toBe(0);
    expect(load("safetensors-bf16", "st")).toMatchObject({ ok: true, errors: [] });
  });

  test("convert to DCP with 3 ranks, reshard that to 4: torch's FsspecReader loads both, equal bit for bit", async () => {
    const c = await webdcp(
      ["convert", `s3://${BUCKET}/ckpt`, `s3://${BUCKET}/dcp3`, "--to", "dcp", "--ranks", "3"],
      moto.env,
    );
    expect(c.code, c.err).toBe(0);
    const r = await webdcp(["reshard", `s3://${BUCKET}/dcp3`, `s3://${BUCKET}/r4`, "--ranks", "4"], moto.env);
    expect(r.code, r.err).toBe(0);
    expect((await bucket("r4").list(""))!.map((e) => e.name)).toEqual([
      ".metadata",
      "__0_0.distcp",
      "__1_0.distcp",
      "__2_0.distcp",
      "__3_0.distcp",
    ]);
    expect(load("dcp", "dcp3")).toMatchObject({ ok: true, errors: [] });
    expect(load("dcp", "r4")).toMatchObject({ ok: true, errors: [] });
    const d = await webdcp(["diff", `s3://${BUCKET}/ckpt`, `s3://${BUCKET}/r4`], moto.env);
    expect(d.code, d.out + d.err).toBe(0);
    expect(d.out).toContain("identical");
  });
});

describe("finalize on a bucket: every part's objects are the ones it wrote", () => {
  test("an object rewritten with one byte flipped, or cut short, is refused naming the part; restored, it commits", async () => {
    for (const part of ["0/2", "1/2"]) {
      const r = await webdcp(
        ["reshard", `s3://${BUCKET}/ckpt`, `s3://${BUCKET}/parts`, "--ranks", "2", "--part", part],
        moto.env,
      );
      expect(r.code, r.err).toBe(0);
    }
    const out = bucket("parts");
    const good = await out.readAll("__1_0.distcp");
    expect(good.byteLength).toBeGreaterThan(4 << 20);
    const flipped = good.slice();
    // Far from the end: outside the zip directory and the last records.
    flipped[1 << 20] ^= 0x40;
    await out.writeAll("__1_0.distcp", flipped);
    const f1 = await webdcp(["finalize", `s3://${BUCKET}/parts`], moto.env);
    expect(f1.code).toBe(1);
    expect(f1.err).toContain("part 1/2: __1_0.distcp is not the file the part wrote");
    await out.writeAll("__1_0.distcp", good.subarray(0, good.byteLength - 1));
    const f2 = await webdcp(["finalize", `s3://${BUCKET}/parts`], moto.env);
    expect(f2.code).toBe(1);
    expect(f2.err).toContain(
      `part 1/2: __1_0.distcp has ${good.byteLength - 1} bytes, the part wrote ${good.byteLength}`,
    );
    expect(await out.stat(".metadata")).toBeUndefined();
    // The same bytes uploaded again: a new object, but its bytes are those the part recorded.
    await out.writeAll("__1_0.distcp", good);
    const f3 = await webdcp(["finalize", `s3://${BUCKET}/parts`], moto.env);
    expect(f3.code, f3.err).toBe(0);
    expect(load("dcp", "parts")).toMatchObject({ ok: true, errors: [] });
  });
});

describe("faults between webdcp and the bucket", () => {
  test("503 SlowDown, 500s and connections dropped mid-object are retried: the output is bit-exact", async () => {
    const args = (
      out: string,
    ) => [
      "convert",
      `s3://${BUCKET}/ckpt`,
      `s3://${BUCKET}/${out}`,
      "--to",
      "safetensors",
      "--dtype",
      "bfloat16",
      "--max-shard-size",
      "4MB",
    ];
    expect((await webdcp(args("clean"), moto.env)).code).toBe(0);
    let drops = 0;
    proxy.decide = (r, i) => {
      if (r.method === "GET" && r.range !== undefined && i % 3 === 0 && drops < 6) {
        return (drops++, { dropAfter: 1 << 20 });
      }
      if (i % 5 === 0) return { status: 503, code: "SlowDown" };
      if (i % 11 === 0) return { status: 500, code: "InternalError" };
      return undefined;
    };
    const before = proxy.injected;
    const r = await webdcp(args("faulty"), { ...moto.env, AWS_ENDPOINT_URL: proxy.endpoint });
    proxy.decide = () => undefined;
    expect(r.code, r.err).toBe(0);
    expect(drops).toBeGreaterThan(0);
    expect(proxy.injected - before).toBeGreaterThan(5);
    await sameObjects("clean", "faulty");
  });

  /**
   * Starts `convert` of the bucket's checkpoint into `name` through the proxy, which hangs the first part
   * upload of the output; resolves once that upload hangs.
   */
  async function convertWithHungUpload(name: string) {
    let hung = false;
    proxy.decide = (r) =>
      r.method === "PUT" && r.url.includes(`/${name}/`) && r.url.includes("partNumber=") && !hung
        ? ((hung = true), { hang: true })
        : undefined;
    const job = webdcpBackground([
      "convert",
      `s3://${BUCKET}/ckpt`,
      `s3://${BUCKET}/${name}`,
      "--to",
      "dcp",
      "--ranks",
      "1",
    ], {
      ...moto.env,
      AWS_ENDPOINT_URL: proxy.endpoint,
    });
    for (let i = 0; i < 600 && !hung; i++) await new Promise((r) => setTimeout(r, 100));
    expect(hung).toBe(true);
    return job;
  }

  test("a killed upload leaves no .metadata and no object; rerunning completes and leaves no multipart upload", async () => {
    const job = await convertWithHungUpload("killed");
    await job.kill();
    proxy.decide = () => undefined;
    const out = bucket("killed");
    expect(await out.stat(".metadata")).toBeUndefined();
    expect(await out.stat("__0_0.distcp")).toBeUndefined();
    expect(await out.list("")).toEqual([]);
    expect((await out.pendingUploads()).map((u) => u.path)).toEqual(["__0_0.distcp"]);
    const again = await webdcp([
      "convert",
      `s3://${BUCKET}/ckpt`,
      `s3://${BUCKET}/killed`,
      "--to",
      "dcp",
      "--ranks",
      "1",
    ], moto.env);
    expect(again.code, again.err).toBe(0);
    expect(await out.pendingUploads()).toEqual([]);
    expect(load("dcp", "killed")).toMatchObject({ ok: true, errors: [] });
  });

  test("a job stopped by SIGTERM (scancel, Kubernetes) aborts its uploads before it exits: no object, no stored parts", async () => {
    const job = await convertWithHungUpload("stopped");
    const result = await job.kill("SIGTERM");
    proxy.decide = () => undefined;
    expect(result.code).toBe(143);
    const out = bucket("stopped");
    expect(await out.list("")).toEqual([]);
    expect(await out.pendingUploads()).toEqual([]);
  });

  test("wrong credentials and a missing bucket are clear errors, and the secret is never printed", async () => {
    const secret = "wrong-secret-key-for-this-test-42";
    const denied = await webdcp(["inspect", `s3://${BUCKET}/ckpt`], { ...moto.env, AWS_SECRET_ACCESS_KEY: secret });
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/E_DENIED: .*HTTP 403.*s3:\/\/ckpts\/ckpt/);
    expect(denied.out + denied.err).not.toContain(secret);
    const missing = await webdcp(["inspect", "s3://no-such-bucket/ckpt"], moto.env);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/E_NOT_FOUND: .*HTTP 404 NoSuchBucket for s3:\/\/no-such-bucket\/ckpt/);
    const noKeys = await webdcp(["inspect", `s3://${BUCKET}/ckpt`], {
      ...moto.env,
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
    });
    expect(noKeys.code).toBe(2);
    expect(noKeys.err).toContain("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  });
});

describe("https:// and http:// locations", () => {
  let server: RangeServer;
  beforeAll(async () => (server = await startRangeServer(filesOf(bucket("ckpt")))));
  afterAll(() => server?.close());

  test("are read: inspect and convert an HTTP-served checkpoint", async () => {
    const r = await webdcp(["inspect", server.url, "--json"], {});
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).tensors.length).toBe(5);
    const out = nodePath.join(dir, "from-http");
    const c = await webdcp(["convert", server.url, out, "--to", "safetensors"], {});
    expect(c.code, c.err).toBe(0);
    expect(fs.existsSync(nodePath.join(out, "model.safetensors.index.json"))).toBe(true);
  });

  test("are never written: an http(s) output is a usage error", async () => {
    const r = await webdcp(
      ["convert", `s3://${BUCKET}/ckpt`, `${server.url}out`, "--to", "dcp", "--ranks", "2"],
      moto.env,
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain("read-only");
  });
});
