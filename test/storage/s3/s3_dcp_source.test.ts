import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { saveStateDict } from "../../../src/dcp/mod.ts";
import { verify } from "../../../src/jobs/mod.ts";
import { openTensorSource } from "../../../src/source/mod.ts";
import { S3Storage } from "../../../src/storage/s3/mod.ts";
import { makeTensor } from "../../../src/tensor/mod.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import { type MotoServer, startMoto } from "./moto_server.ts";

const BUCKET = "webdcp-dcp-source";

let moto: MotoServer;
let proxy: FaultProxy;

beforeAll(async () => {
  moto = await startMoto(inject("python"));
  await moto.createBucket(BUCKET);
  proxy = await startFaultProxy(moto.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await moto?.stop();
});

function storage(prefix: string): S3Storage {
  return new S3Storage({ bucket: BUCKET, prefix, endpoint: proxy.endpoint, credentials: moto.credentials, env: {} });
}

/** A float32 tensor whose bytes differ from every other's. */
function tensor(shape: number[], seed: number) {
  const t = makeTensor("float32", shape);
  new Float32Array(t.data.buffer).forEach((_, i, a) => (a[i] = seed * 1000 + i));
  return t;
}

describe("a DCP source over S3", () => {
  it("fetches its items' ends at open in one coalesced GET per rank file; reading small items sends nothing more", async () => {
    // Six tensors over 3 ranks: 18 items of at most 2 KiB, each a whole torch archive read to open it.
    const state = Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`w${i}`, tensor([6, 32 + 8 * i], i)]));
    await saveStateDict(storage("small"), "ckpt", state, { ranks: 3 });
    const before = proxy.requests.length;
    const source = await openTensorSource(storage("small"), "ckpt");
    const opened = proxy.requests.length;
    for (const [name, t] of Object.entries(state)) {
      expect(Buffer.from((await source.readTensor(name)).data).equals(Buffer.from(t.data))).toBe(true);
    }
    await source.close();
    expect(proxy.requests.length).toBe(opened);
    const gets = proxy.requests.slice(before).filter((r) => r.method === "GET" && !r.url.includes("?"));
    const dataGets = gets.filter((r) => r.url.endsWith(".distcp"));
    expect(new Set(dataGets.map((r) => r.url)).size).toBe(3);
    expect(dataGets).toHaveLength(3);
  });

  it("reads a large item's data through the file's one open source: its bands share one GET", async () => {
    // One rank, a 4 MiB tensor between two small ones: the large item's data is read in bands.
    const state = { a: tensor([8, 8], 1), big: tensor([1024, 1024], 2), z: tensor([8, 8], 3) };
    await saveStateDict(storage("large"), "ckpt", state, { ranks: 1 });
    const source = await openTensorSource(storage("large"), "ckpt");
    const before = proxy.requests.length;
    for (let row = 0; row < 1024; row += 256) {
      const band = await source.readTensor("big", { offsets: [row, 0], sizes: [256, 1024] });
      expect(Buffer.from(band.data).equals(Buffer.from(state.big.data.subarray(row * 4096, (row + 256) * 4096))))
        .toBe(true);
    }
    for (const name of ["a", "z"] as const) {
      expect(Buffer.from((await source.readTensor(name)).data).equals(Buffer.from(state[name].data))).toBe(true);
    }
    await source.close();
    const seen = proxy.requests.slice(before);
    // The file's source opens with no request of its own (its size and ETag came with the folder's listing),
    // and the four bands continue one streamed GET.
    expect(seen.map((r) => r.method)).toEqual(["GET"]);
  });

  it("verify reads every item's ends in one coalesced GET per rank file, and still reports a cut file", async () => {
    const state = Object.fromEntries([0, 1, 2, 3].map((i) => [`w${i}`, tensor([4, 40 + 8 * i], i)]));
    const s = storage("verify");
    await saveStateDict(s, "ckpt", state, { ranks: 2 });
    const before = proxy.requests.length;
    expect(await verify({ storage: s, path: "ckpt" })).toMatchObject({ ok: true, checked: { items: 8 } });
    const gets = proxy.requests.slice(before).filter((r) => r.method === "GET" && r.url.endsWith(".distcp"));
    expect(gets).toHaveLength(2);
    // A rank file cut short: the ranges outside it are problems, the other file's items still open.
    const cut = (await s.readAll("ckpt/__1_0.distcp")).subarray(0, 100);
    await s.writeAll("ckpt/__1_0.distcp", cut);
    const report = await verify({ storage: s, path: "ckpt" });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toContain("E_OUT_OF_RANGE");
    expect(report.checked.items).toBe(4);
  });
});
