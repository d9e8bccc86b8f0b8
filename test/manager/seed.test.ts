import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { describe, expect, inject, it } from "vitest";
import { LLAMA3_FLAVORS, LLAMA3_KEY_GENERATIONS, llama3Parameters } from "../../src/adapters/mod.ts";
import { runCli } from "../../src/cli/main.ts";
import { openDcp } from "../../src/dcp/mod.ts";
import { CheckpointManager, createSeedCheckpoint, type SeedOptions } from "../../src/manager/mod.ts";
import { llama3Init } from "../../src/manager/seed.ts";
import { CounterRandom, PAIR } from "../../src/manager/seed_random.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { FileStorage } from "../../src/storage/file/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { Holder } from "./states_fixture.ts";

const f32 = (t: Tensor) => new Float32Array(t.data.slice().buffer);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);

function stats(x: Float32Array) {
  let sum = 0, sq = 0, min = Infinity, max = -Infinity;
  for (const v of x) {
    sum += v;
    sq += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / x.length;
  return { mean, std: Math.sqrt(sq / x.length - mean * mean), min, max };
}

/** SHA-256 of every tensor's bytes, in entry order, of the debugmodel seed 11 written with `options`. */
async function seedHash(options: Partial<SeedOptions>): Promise<string> {
  const storage = new MemoryStorage();
  await createSeedCheckpoint(storage, { model: "llama3", flavor: "debugmodel", seed: 11, ...options });
  const ckpt = await openDcp(storage, "step-0");
  const hash = createHash("sha256");
  for (const e of ckpt.entries()) hash.update((await ckpt.readTensor(e.name)).data);
  await ckpt.close();
  return hash.digest("hex");
}

const PINNED = {
  float32: "b9e5b773acbd2729f4c7ae3015f876c1b5bffe5a40c977592818b9d8ac46036f",
  bfloat16: "7b56207dab1cf8fa6c1778d8adf4fd206446fc264d5045f04507bd0b6b08f4ac",
  float16: "442333a7805a8ce2c75cf7d7dd8172538436202dea86322add017dad4c6c89a7",
};

describe("createSeedCheckpoint()", () => {
  it("writes step-0 with every debugmodel parameter under torchtitan 0.3.0's names, and TorchTitan's distributions", async () => {
    const storage = new MemoryStorage();
    await createSeedCheckpoint(storage, { model: "llama3", flavor: "debugmodel", seed: 7 });
    const ckpt = await openDcp(storage, "step-0");
    const params = llama3Parameters(LLAMA3_FLAVORS.debugmodel, LLAMA3_KEY_GENERATIONS.head);
    expect(ckpt.entries().map((e) => e.name).sort()).toEqual(params.map((p) => p.titan).sort());
    const emb = stats(f32(await ckpt.readTensor("tok_embeddings.weight")));
    expect(Math.abs(emb.mean)).toBeLessThan(0.01);
    expect(emb.std).toBeGreaterThan(0.99);
    expect(emb.std).toBeLessThan(1.01);
    const wq = stats(f32(await ckpt.readTensor("layers.0.attention.qkv_linear.wq.weight")));
    expect(wq.std).toBeCloseTo(0.02, 3);
    const w2 = stats(f32(await ckpt.readTensor("layers.5.feed_forward.w2.weight")));
    expect(w2.std).toBeCloseTo(0.02 / Math.sqrt(12), 3);
    const head = stats(f32(await ckpt.readTensor("lm_head.weight")));
    const s = 256 ** -0.5;
    expect(head.max).toBeLessThanOrEqual(Math.fround(3 * s));
    expect(head.min).toBeGreaterThanOrEqual(-Math.fround(3 * s));
    expect(head.std).toBeGreaterThan(0.97 * s); // truncation at 3 std narrows it by about 1.3%
    expect(head.std).toBeLessThan(0.995 * s);
    expect([...f32(await ckpt.readTensor("layers.2.ffn_norm.weight"))].every((v) => v === 1)).toBe(true);
    await ckpt.close();
  });

  it("the same seed gives the same values whatever the rank count; another seed other values", async () => {
    const one = new MemoryStorage();
    const three = new MemoryStorage();
    const other = new MemoryStorage();
    await createSeedCheckpoint(one, { model: "llama3", flavor: "debugmodel", seed: 3 });
    await createSeedCheckpoint(three, { model: "llama3", flavor: "debugmodel", seed: 3, ranks: 3 });
    await createSeedCheckpoint(other, { model: "llama3", flavor: "debugmodel", seed: 4 });
    const [a, b, c] = await Promise.all([openDcp(one, "step-0"), openDcp(three, "step-0"), openDcp(other, "step-0")]);
    expect(b.entries()[1]).toMatchObject({ chunks: [{}, {}, {}] });
    for (const e of a.entries()) {
      const x = await a.readTensor(e.name);
      expect(same(x.data, (await b.readTensor(e.name)).data), e.name).toBe(true);
      if (!e.name.endsWith("norm.weight")) expect(same(x.data, (await c.readTensor(e.name)).data), e.name).toBe(false);
    }
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it("bfloat16 seeds are the float32 values rounded; --keys classic uses v0.2 names", async () => {
    const f = new MemoryStorage();
    const h = new MemoryStorage();
    await createSeedCheckpoint(f, { model: "llama3", flavor: "debugmodel", seed: 1 });
    await createSeedCheckpoint(h, {
      model: "llama3",
      flavor: "debugmodel",
      seed: 1,
      dtype: "bfloat16",
      keys: "classic",
    });
    const [a, b] = await Promise.all([openDcp(f, "step-0"), openDcp(h, "step-0")]);
    expect(b.entries().map((e) => e.name)).toContain("layers.0.attention.wq.weight");
    expect(b.entries().map((e) => e.name)).toContain("output.weight");
    const x = f32(await a.readTensor("layers.0.attention.qkv_linear.wq.weight"));
    const y = new Uint16Array((await b.readTensor("layers.0.attention.wq.weight")).data.slice().buffer);
    expect(b.entries()[0]).toMatchObject({ dtype: "bfloat16" });
    // Round to nearest even of the float32 bits.
    const bits = new Uint32Array(x.buffer);
    for (let i = 0; i < 1000; i++) expect(y[i]).toBe((bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16);
    await Promise.all([a.close(), b.close()]);
  });

  it("pins the bytes of a debugmodel seed in every dtype (a change to the generator shows here)", async () => {
    for (const [dtype, sha256] of Object.entries(PINNED)) {
      expect(await seedHash({ dtype: dtype as "float32" }), dtype).toBe(sha256);
    }
  });

  it("bands made on this thread (workers: 0), on one worker or on three have the pinned bytes too", async () => {
    // Three whatever the machine's cores (the default above may be one): bands finish out of order there.
    for (const [dtype, sha256] of Object.entries(PINNED)) {
      for (const workers of [0, 1, 3]) {
        expect(await seedHash({ dtype: dtype as "float32", workers }), `${dtype}, ${workers} workers`).toBe(sha256);
      }
    }
  });

  it("refuses a worker count that is not an integer >= 0 before starting any worker", async () => {
    for (const workers of [-1, 1.5, Number.NaN, Infinity]) {
      const storage = new MemoryStorage();
      await expect(createSeedCheckpoint(storage, { model: "llama3", flavor: "debugmodel", workers }), `${workers}`)
        .rejects.toMatchObject({ code: "E_USAGE" });
      expect(await storage.list("")).toEqual([]);
    }
  });

  it("an abort while bands are made on workers stops the write with the signal's reason and publishes nothing", async () => {
    const storage = new MemoryStorage();
    const stop = new AbortController();
    const write = createSeedCheckpoint(storage, {
      model: "llama3",
      flavor: "debugmodel",
      dtype: "bfloat16",
      workers: 2,
      signal: stop.signal,
      onProgress: (p) => void (p.bytesDone > p.bytesTotal / 3 && stop.abort()),
    });
    await expect(write).rejects.toMatchObject({ name: "AbortError" });
    expect(await storage.stat("step-0/.metadata")).toBeUndefined();
  });

  it("a tied head shares the embedding's values (flavors with weight tying)", () => {
    const p = llama3Parameters(LLAMA3_FLAVORS["1B"], LLAMA3_KEY_GENERATIONS.head);
    const emb = llama3Init(p[0], 2048, true, "lm_head.weight");
    const head = llama3Init(p.at(-1)!, 2048, true, "lm_head.weight");
    expect(emb).toEqual(head);
  });

  it("the generator: element values depend on the index only, normals look normal", () => {
    const r = new CounterRandom(0, "x");
    expect(r.sample(123456789, 1)).toBe(new CounterRandom(0, "x").sample(123456789, 1));
    expect(r.bits(2 ** 40 + 5, 0)).not.toBe(r.bits(5, 0));
    const xs = new Float32Array(200_001);
    r.fillNormal(xs, 0, 1);
    const s = stats(xs);
    // Any band of the same elements gives the same values, odd starts included.
    const band = new Float32Array(1001);
    r.fillNormal(band, 12345, 1);
    expect(band).toEqual(xs.subarray(12345, 13346));
    const t = new Float32Array(777);
    r.fillTruncNormal(t, 3, 1, -0.5, 0.5);
    expect(t.every((v) => v >= -0.5 && v <= 0.5)).toBe(true);
    const t2 = new Float32Array(100);
    r.fillTruncNormal(t2, 103, 1, -0.5, 0.5);
    expect(t2).toEqual(t.subarray(100, 200));
    expect(Math.abs(s.mean)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.01);
    // Mass beyond 1, 2 and 3 std as the normal has it (4 sigma bounds).
    const beyond = (k: number) => xs.filter((v) => Math.abs(v) > k).length / xs.length;
    expect(Math.abs(beyond(1) - 0.3173)).toBeLessThan(0.0042);
    expect(Math.abs(beyond(2) - 0.0455)).toBeLessThan(0.002);
    expect(Math.abs(beyond(3) - 0.0027)).toBeLessThan(0.0005);
    // The tails over 8 Mi draws: P(|Z| > 3.4426) = 5.761e-4 and P(|Z| > 4) = 6.334e-5 (4 sigma bounds), and
    // nothing beyond sqrt(48 ln 2) = 5.77, the largest radius of a 24-bit uniform.
    const big = new Float32Array(1 << 20);
    let far = 0, farther = 0, most = 0;
    for (let k = 0; k < 8; k++) {
      r.fillNormal(big, k << 20, 1);
      for (const v of big) {
        if (Math.abs(v) > 3.442619855899) far++;
        if (Math.abs(v) > 4) farther++;
        most = Math.max(most, Math.abs(v));
      }
    }
    expect(Math.abs(far / (8 << 20) - 5.761e-4)).toBeLessThan(3.4e-5);
    expect(Math.abs(farther / (8 << 20) - 6.334e-5)).toBeLessThan(1.1e-5);
    expect(most).toBeGreaterThan(4.5);
    expect(most).toBeLessThanOrEqual(Math.sqrt(48 * Math.LN2) * (1 + 2 ** -20));
    // The band loop and one element's draw agree, rejected first trials included.
    for (let i = 0; i < 2000; i++) expect(xs[i]).toBe(Math.fround(r.sample(i, 1)));
  });

  it("the generator: neighbours, a pair's two elements, two streams and two trials of an element are uncorrelated", () => {
    const n = 1 << 20;
    const r = new CounterRandom(5, "layers.0.feed_forward.w1.weight");
    const xs = new Float32Array(n);
    r.fillNormal(xs, 0, 1);
    const other = new Float32Array(n);
    new CounterRandom(5, "layers.0.feed_forward.w3.weight").fillNormal(other, 0, 1);
    const trial1 = Float32Array.from({ length: n / 16 }, (_, i) => r.sample(i, 1, -Infinity, Infinity, 1));
    /** Pearson's correlation of a(i) and b(i), i < count. */
    const corr = (count: number, a: (i: number) => number, b: (i: number) => number) => {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let i = 0; i < count; i++) {
        const x = a(i), y = b(i);
        sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y;
      }
      const cov = sab / count - (sa / count) * (sb / count);
      return cov / Math.sqrt((saa / count - (sa / count) ** 2) * (sbb / count - (sb / count) ** 2));
    };
    // Five standard errors (1 / sqrt(count)) for each: independent draws stay inside, a weak hash would not.
    const within = (rho: number, count: number) => expect(Math.abs(rho)).toBeLessThan(5 / Math.sqrt(count));
    within(corr(n - 1, (i) => xs[i], (i) => xs[i + 1]), n - 1);
    within(corr(n / 2, (j) => xs[2 * j], (j) => xs[2 * j + 1]), n / 2);
    // x^2 and y^2 of a pair share its radius: uncorrelated only if the angle is uniform and apart from it.
    within(corr(n / 2, (j) => xs[2 * j] ** 2, (j) => xs[2 * j + 1] ** 2), n / 2);
    within(corr(n / 2 - 1, (j) => xs[2 * j] ** 2, (j) => xs[2 * j + 2] ** 2), n / 2 - 1);
    within(corr(n, (i) => xs[i], (i) => other[i]), n);
    within(corr(n / 16, (i) => xs[i], (i) => trial1[i]), n / 16);
  });

  it("sin and cos are the polynomials scripts/seed_polynomials.py fits (numpy in the interop venv)", () => {
    const out = execFileSync(inject("python"), ["scripts/seed_polynomials.py"], { encoding: "utf8" });
    const fitted = (name: string) =>
      new RegExp(`^${name}: (.*)$`, "m").exec(out)![1].split(", ").map((x) => Math.fround(Number(x)));
    expect(PAIR.sin).toEqual(fitted("sin"));
    expect(PAIR.cos).toEqual(fitted("cos"));
  });

  it("create_seed_checkpoint through the manager writes the program's model as model-only step-0", async () => {
    const storage = new MemoryStorage();
    const model = new Holder({ w: { dtype: "float32", shape: [2], data: new Uint8Array(8) } });
    const m = new CheckpointManager({ checkpoint: { enable: true, create_seed_checkpoint: true } }, {
      storage,
      states: { model, optimizer: new Holder({ x: 1 }) },
    });
    expect((await m.createSeed()).kind).toBe("model-only");
    const ckpt = await openDcp(storage, "step-0");
    expect(ckpt.entries().map((e) => e.name)).toEqual(["w"]);
    await ckpt.close();
  });
});

describe("webdcp seed", () => {
  it("writes <out>/step-0 and reports it as JSON; bad options are usage errors", async () => {
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "webdcp-seed-"));
    let out = "";
    let err = "";
    const run = (args: string[]) =>
      runCli(
        {
          args,
          out: (t: string) => void (out += t),
          err: (t: string) => void (err += t),
          stderrIsTty: false,
          columns: 80,
          exit: () => {},
          cwd: () => dir,
        } as never,
      );
    expect(
      await run([
        "seed",
        "--model",
        "llama3",
        "--flavor",
        "debugmodel",
        "--out",
        "ckpt",
        "--seed",
        "2",
        "--dtype",
        "bfloat16",
        "--json",
      ]),
    ).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      path: nodePath.join(dir, "ckpt", "step-0"),
      tensors: 57,
      dtype: "bfloat16",
      keys: "head",
    });
    const ckpt = await openDcp(new FileStorage(nodePath.join(dir, "ckpt")), "step-0");
    expect(ckpt.entries()[0]).toMatchObject({ dtype: "bfloat16" });
    await ckpt.close();
    expect(await run(["seed", "--model", "gpt2", "--flavor", "x", "--out", "o"])).toBe(2);
    expect(await run(["seed", "--model", "llama3", "--flavor", "debugmodel"])).toBe(2);
    expect(err).toContain("--out is required");
    fs.rmSync(dir, { recursive: true });
  });
});
