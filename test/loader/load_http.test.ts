/**
 * loadToGpu() over HTTP into a real WebGPU device (Dawn + SwiftShader in Node): checkpoints written by
 * webdcp's writers are served by a Range-honouring node:http server on 127.0.0.1, loaded from their URL,
 * read back from the GPU and compared with the stored bytes; the server counts every request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTensorSource } from "../../src/source/mod.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { acquireGpu, convertCpu, createEngine, type Engine } from "../../src/engine/mod.ts";
import { type LoadPlan, loadToGpu } from "../../src/loader/mod.ts";
import { writeSafetensorsFolder } from "../../src/safetensors/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { encodeTorch } from "../../src/torch/mod.ts";
import { gpuEngineForTests } from "../engine/gpu_fixture.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";
import { watchedDevice } from "../engine/watched_device.ts";
import { filesOf, type RangeServer, startRangeServer } from "../storage/range_server.ts";

function f32(n: number, seed: number): Uint8Array {
  return new Uint8Array(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.73 + seed) * 9.5).buffer);
}
function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17) & 0xff);
}
const t = (dtype: Tensor["dtype"], shape: number[], data: Uint8Array): Tensor => ({ dtype, shape, data });

/** Odd row sizes (bf16 rows of 7 elements: 14 bytes) so pieces and parts meet 4-byte alignment the hard way. */
function stateDict(): Record<string, Tensor> {
  return {
    "layers.0.w": t("float32", [37, 16], f32(37 * 16, 1)),
    "layers.0.emb": t("bfloat16", [21, 7], bytes(21 * 7 * 2, 2)),
    "layers.1.w": t("float32", [13, 5], f32(65, 3)),
    "norm": t("float16", [9], bytes(18, 4)),
    "ids": t("int32", [6, 3], bytes(72, 5)),
    "step": t("float32", [], f32(1, 6)),
  };
}

describe("loadToGpu() over HTTP", () => {
  const files = new MemoryStorage();
  let server: RangeServer;
  let engine: Engine;
  let device: GPUDevice;
  const sd = stateDict();

  beforeAll(async () => {
    const gpu = (await gpuEngineForTests())!;
    engine = gpu;
    device = gpu.context.device;
    await saveStateDict(files, "dcp4", { model: sd }, { ranks: 4 });
    const entries = Object.entries(sd).map(([name, x]) => ({ name, ...x }));
    await writeSafetensorsFolder(files, "hf", entries, { maxShardBytes: 1500 });
    await writeSafetensorsFolder(files, "one", entries);
    await files.writeAll("model.pt", encodeTorch(new Map(Object.entries(sd))));
    server = await startRangeServer(filesOf(files));
  });
  afterAll(async () => {
    await server?.close();
    engine?.dispose();
  });

  async function expectBits(load: Awaited<ReturnType<typeof loadToGpu>>, prefix: string, to?: "bfloat16") {
    expect([...load.tensors.keys()].sort()).toEqual(Object.keys(sd).map((k) => prefix + k).sort());
    for (const [name, want] of Object.entries(sd)) {
      const got = load.tensors.get(prefix + name)!;
      const cast = to && want.dtype !== "int32" ? to : want.dtype;
      expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: cast, shape: want.shape });
      const expected = cast === want.dtype ? want.data : convertCpu(want.data, want.dtype, cast);
      expect(await readGpuBuffer(load.device, got.buffer, got.byteLength), name).toEqual(expected);
    }
  }

  it("loads a 4-rank DCP from its URL bit-exactly with one request per file (metadata, then each rank file once)", async () => {
    server.requests.length = 0;
    let plan: LoadPlan | undefined;
    let requestsAtPlan = -1;
    const load = await loadToGpu(`${server.url}dcp4/`, {
      engine,
      onPlan: (p) => {
        plan = p;
        requestsAtPlan = server.requests.length;
      },
    });
    await expectBits(load, "model.");
    const listing = (await files.list("dcp4"))!.map((e) => e.name);
    expect(listing).toHaveLength(5);
    expect(server.requests.map((r) => r.path).sort()).toEqual(listing.map((n) => `dcp4/${n}`).sort());
    expect(server.requests.every((r) => r.method === "GET" && /^bytes=\d+-\d+$/.test(r.range ?? ""))).toBe(true);
    expect(plan).toMatchObject({
      format: "dcp",
      tensors: 6,
      buffers: 6,
      fitsDevice: true,
      requests: { headers: 5, data: 0 },
    });
    expect(requestsAtPlan).toBe(5);
    expect(load.stats.requests).toBe(5);
    load.destroy();
  });

  it("casts a safetensors file to bfloat16 in many small pieces, several in flight, equal to the CPU twin", async () => {
    server.requests.length = 0;
    const seen: number[] = [];
    const load = await loadToGpu(`${server.url}one/model.safetensors`, {
      engine,
      dtype: "bfloat16",
      stagingBytes: 64,
      inFlight: 3,
      onProgress: (p) => seen.push(p.bytesDone),
    });
    await expectBits(load, "", "bfloat16");
    expect(seen.at(-1)).toBe(Object.values(sd).reduce((s, x) => s + x.data.byteLength, 0));
    // The probe brings the header and the start of the data; every later request is one planned piece.
    expect(server.requests[0].range).toBe(`bytes=0-${(256 << 10) - 1}`);
    expect(server.requests.length).toBe(1 + load.plan.requests.data);
    expect(load.stats.castOn).toBe("gpu");
    load.destroy();
  });

  it("streams a file past the probe in one request, uploading chunks of any size as they arrive, cast or not", async () => {
    // 400 KB of data: most of it lies past the 256 KiB probe, so it comes in the streamed request.
    const big: Record<string, Tensor> = {
      "a": t("float32", [301, 257], f32(301 * 257, 7)),
      "b": t("bfloat16", [129, 33], bytes(129 * 33 * 2, 8)),
      "c": t("float16", [1001], bytes(2002, 9)),
      "d": t("int32", [77, 3], bytes(77 * 3 * 4, 10)),
    };
    await writeSafetensorsFolder(files, "big", Object.entries(big).map(([name, x]) => ({ name, ...x })));
    // Bodies cut into 997-byte chunks (a plain stream, not a byte stream): chunks split elements and words.
    const rechunked: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      let held = new Uint8Array(0);
      const cut = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          const all = new Uint8Array(held.byteLength + chunk.byteLength);
          all.set(held);
          all.set(chunk, held.byteLength);
          let at = 0;
          for (; all.byteLength - at >= 997; at += 997) out.enqueue(all.slice(at, at + 997));
          held = all.slice(at);
        },
        flush(out) {
          if (held.byteLength > 0) out.enqueue(held);
        },
      });
      return new Response(response.body!.pipeThrough(cut), { status: response.status, headers: response.headers });
    };
    for (const [fetchFn, dtype] of [[undefined, undefined], [rechunked, undefined], [rechunked, "bfloat16"]] as const) {
      server.requests.length = 0;
      const load = await loadToGpu(`${server.url}big/model.safetensors`, {
        engine,
        dtype,
        http: { fetch: fetchFn },
      });
      for (const [name, want] of Object.entries(big)) {
        const got = load.tensors.get(name)!;
        const cast = dtype && want.dtype !== "int32" ? dtype : want.dtype;
        const expected = cast === want.dtype ? want.data : convertCpu(want.data, want.dtype, cast);
        expect(await readGpuBuffer(load.device, got.buffer, got.byteLength), `${name} ${dtype}`).toEqual(expected);
      }
      expect(server.requests.map((r) => r.path)).toEqual(["big/model.safetensors", "big/model.safetensors"]);
      expect(load.plan.requests).toMatchObject({ headers: 1, data: 1 });
      load.destroy();
    }
  });

  it("cuts a file's data into requests of at most requestBytes", async () => {
    server.requests.length = 0;
    const load = await loadToGpu(`${server.url}big/model.safetensors`, {
      engine,
      stagingBytes: 50_000,
      requestBytes: 100_000,
    });
    const ranges = server.requests.slice(1).map((r) => /bytes=(\d+)-(\d+)/.exec(r.range!)!.slice(1).map(Number));
    expect(ranges.length).toBe(load.plan.requests.data);
    expect(ranges.length).toBeGreaterThan(1);
    for (const [first, last] of ranges) expect(last - first + 1).toBeLessThanOrEqual(100_000);
    const a = load.tensors.get("a")!;
    expect(await readGpuBuffer(load.device, a.buffer, a.byteLength)).toEqual(f32(301 * 257, 7));
    load.destroy();
  });

  it("loads an HF folder through its index, and a torch.save file, bit-exactly", async () => {
    const hf = await loadToGpu(`${server.url}hf/`, { device, dtype: "bfloat16" });
    expect((await files.list("hf"))!.length).toBeGreaterThan(2);
    await expectBits(hf, "", "bfloat16");
    expect(hf.plan.format).toBe("hf");
    hf.destroy();
    const pt = await loadToGpu(`${server.url}model.pt`, { engine });
    expect(pt.plan.format).toBe("torch");
    await expectBits(pt, "");
    pt.destroy();
  });

  it("selects tensors with include/exclude globs and reads only their items", async () => {
    server.requests.length = 0;
    const load = await loadToGpu(`${server.url}dcp4/`, {
      engine,
      include: ["model.layers"],
      exclude: ["model.layers.0.emb"],
    });
    expect([...load.tensors.keys()].sort()).toEqual(["model.layers.0.w", "model.layers.1.w"]);
    load.destroy();
  });

  it("splits a tensor larger than the buffer limit into row-aligned parts holding its rows", async () => {
    const load = await loadToGpu(`${server.url}dcp4/`, { engine, dtype: "bfloat16", maxPartBytes: 40 });
    const emb = load.tensors.get("model.layers.0.emb")!; // 21 rows of 14 bytes: 2 rows (28 bytes) per part
    expect(emb.parts.map((p) => [p.firstRow, p.rows])).toEqual(
      Array.from({ length: 11 }, (_, i) => [i * 2, Math.min(2, 21 - i * 2)]),
    );
    expect(load.plan.split).toContainEqual({ name: "model.layers.0.emb", parts: 11, rowsPerPart: 2 });
    for (const [name, want] of Object.entries(sd)) {
      const got = load.tensors.get(`model.${name}`)!;
      const expected = want.dtype === "int32" || want.dtype === "bfloat16"
        ? want.data
        : convertCpu(want.data, want.dtype, "bfloat16");
      const pieces = [];
      for (const p of got.parts) {
        expect(p.buffer.size).toBeLessThanOrEqual(40);
        pieces.push(...await readGpuBuffer(load.device, p.buffer, p.byteLength));
      }
      expect(Uint8Array.from(pieces), name).toEqual(expected);
    }
    load.destroy();
  });

  it("refuses a tensor whose single row exceeds the buffer limit, naming it, before any data moves", async () => {
    server.requests.length = 0;
    await expect(loadToGpu(`${server.url}dcp4/`, { engine, maxPartBytes: 32 })).rejects.toMatchObject({
      code: "E_UNSUPPORTED",
      message: expect.stringContaining("model.layers.0.w: one row is 64 bytes"),
    });
  });

  it("works with createEngine({ kind: 'auto' }) when the only adapter is a software one: the CPU twin casts", async () => {
    const auto = await createEngine({ kind: "auto" });
    expect(auto.kind).toBe("cpu"); // SwiftShader is the only adapter here
    const load = await loadToGpu(`${server.url}dcp4/`, { engine: auto, dtype: "bfloat16" });
    expect(load.stats.castOn).toBe("cpu");
    await expectBits(load, "model.", "bfloat16");
    load.destroy();
    load.device.destroy();
  });

  it("an aborted load destroys every buffer it created and rejects with the abort reason", async () => {
    const { device: watched, created } = watchedDevice(device);
    const controller = new AbortController();
    const reason = new DOMException("user left the page", "AbortError");
    const load = loadToGpu(`${server.url}one/model.safetensors`, {
      device: watched,
      stagingBytes: 64,
      inFlight: 1,
      onProgress: (p) => p.bytesDone > 200 && controller.abort(reason),
      signal: controller.signal,
    });
    await expect(load).rejects.toBe(reason);
    expect(created.length).toBe(6);
    // A destroyed buffer is invalid: writing to it is a validation error.
    for (const b of created) {
      device.pushErrorScope("validation");
      device.queue.writeBuffer(b, 0, new Uint8Array(4));
      expect(await device.popErrorScope(), b.label).not.toBeNull();
    }
  });

  it("an abort while metadata and headers are fetched rejects with the abort reason, sending nothing more", async () => {
    server.requests.length = 0;
    const controller = new AbortController();
    const reason = new DOMException("stop", "AbortError");
    const fetchThenAbort: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      controller.abort(reason); // after the probe's answer, before any other request
      return response;
    };
    const load = loadToGpu(`${server.url}dcp4/`, {
      engine,
      signal: controller.signal,
      http: { fetch: fetchThenAbort },
    });
    await expect(load).rejects.toBe(reason);
    expect(server.requests.map((r) => r.path)).toEqual(["dcp4/.metadata"]);
  });

  it("a device lost during the load rejects with E_GPU_LOST", async () => {
    const own = await loadToGpu(`${server.url}dcp4/`, { engine: await createEngine({ kind: "cpu" }) });
    const lostDevice = own.device;
    own.destroy();
    const load = loadToGpu(`${server.url}one/model.safetensors`, {
      device: lostDevice,
      stagingBytes: 64,
      inFlight: 1,
      onPlan: () => lostDevice.destroy(),
    });
    await expect(load).rejects.toMatchObject({ code: "E_GPU_LOST" });
  });

  it("a buffer the device cannot allocate gives E_GPU_OOM naming the tensor, and the buffers made before are destroyed", async (ctx) => {
    // A 1 GiB tensor: within the device's limits (asked for up to the adapter's), more memory than
    // SwiftShader's Vulkan device hands out in one allocation (VK_ERROR_OUT_OF_DEVICE_MEMORY). Its bytes are
    // never read: the failure comes when the buffers are made, before any data moves. A real GPU would
    // allocate it (and then read a GiB): there the test is skipped.
    const rows = 16384, cols = 16384;
    let header = JSON.stringify({
      a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
      huge: { dtype: "F32", shape: [rows, cols], data_offsets: [16, 16 + rows * cols * 4] },
    });
    header += " ".repeat((8 - (header.length % 8)) % 8);
    const head = new Uint8Array(8 + header.length);
    new DataView(head.buffer).setBigUint64(0, BigInt(header.length), true);
    head.set(new TextEncoder().encode(header), 8);
    const size = head.byteLength + 16 + rows * cols * 4;
    const oomServer = await startRangeServer((path) =>
      Promise.resolve(
        path === "huge.safetensors"
          ? {
            size,
            bytes: (offset: number, length: number) => {
              const out = new Uint8Array(length);
              if (offset < head.byteLength) out.set(head.subarray(offset, offset + length));
              return Promise.resolve(out);
            },
          }
          : undefined,
      )
    );
    const context = await acquireGpu(); // asks for the adapter's own buffer limits (1 GiB on SwiftShader)
    const big = context.device;
    if (!/swiftshader/i.test(context.adapterName)) {
      big.destroy();
      await oomServer.close();
      return ctx.skip();
    }
    const { device: watched, created } = watchedDevice(big);
    try {
      expect(Math.min(big.limits.maxBufferSize, big.limits.maxStorageBufferBindingSize)).toBeGreaterThanOrEqual(
        rows * cols * 4,
      );
      await expect(loadToGpu(`${oomServer.url}huge.safetensors`, { device: watched })).rejects.toMatchObject({
        code: "E_GPU_OOM",
        message: expect.stringContaining(`GPU out of memory creating ${rows * cols * 4} bytes for huge`),
      });
      expect(created.map((b) => b.label)).toEqual(["a", "huge"]);
      for (const b of created) {
        big.pushErrorScope("validation");
        big.queue.writeBuffer(b, 0, new Uint8Array(4));
        expect(await big.popErrorScope(), b.label).not.toBeNull();
      }
      expect(oomServer.requests).toHaveLength(1); // the probe; no data request
    } finally {
      big.destroy();
      await oomServer.close();
    }
  });

  it("a device destroyed while data streams rejects with E_GPU_LOST", async () => {
    const own = await loadToGpu(`${server.url}dcp4/`, { engine: await createEngine({ kind: "cpu" }) });
    const lostDevice = own.device;
    own.destroy();
    let destroyed = false;
    const load = loadToGpu(`${server.url}one/model.safetensors`, {
      device: lostDevice,
      stagingBytes: 64,
      inFlight: 1,
      onProgress: (p) => {
        if (p.bytesDone > 0 && !destroyed) {
          destroyed = true;
          lostDevice.destroy();
        }
      },
    });
    await expect(load).rejects.toMatchObject({ code: "E_GPU_LOST" });
    expect(destroyed).toBe(true);
  });

  it("a caller's open source loads through the same plan", async () => {
    const source = await openTensorSource(files, "dcp4");
    const load = await loadToGpu(source, { engine, stagingBytes: 100 });
    await source.close();
    await expectBits(load, "model.");
    load.destroy();
  });
});

describe("loadToGpu() names server problems", () => {
  let engine: Engine;
  const files = new MemoryStorage();
  beforeAll(async () => {
    engine = (await gpuEngineForTests())!;
    await writeSafetensorsFolder(files, "one", Object.entries(stateDict()).map(([name, x]) => ({ name, ...x })));
  });
  afterAll(() => engine?.dispose());

  async function failure(quirks: Parameters<typeof startRangeServer>[1], url: string, maxUnrangedBytes?: number) {
    const server = await startRangeServer(filesOf(files), quirks);
    try {
      return await loadToGpu(`${server.url}${url}`, { engine, http: { maxUnrangedBytes } }).then(
        (l) => (l.destroy(), undefined),
        (e) => ({ error: e as Error & { code: string }, requests: server.requests.length }),
      );
    } finally {
      await server.close();
    }
  }

  it("a folder with no checkpoint: E_NOT_FOUND naming the three probed files, one request each", async () => {
    const got = await failure({}, "nothing/");
    expect(got?.error.code).toBe("E_NOT_FOUND");
    expect(got?.error.message).toContain("'.metadata', 'model.safetensors.index.json', 'model.safetensors' not found");
    expect(got?.error.message).toContain("/nothing/");
    expect(got?.requests).toBe(3);
  });

  it("a missing file named by its path: one request, E_NOT_FOUND", async () => {
    const got = await failure({}, "one/absent.safetensors");
    expect(got).toMatchObject({ error: { code: "E_NOT_FOUND" }, requests: 1 });
  });

  it("a server that ignores Range: E_UNSUPPORTED saying so", async () => {
    const got = await failure({ ignoreRange: true }, "one/model.safetensors", 100);
    expect(got?.error.code).toBe("E_UNSUPPORTED");
    expect(got?.error.message).toContain("server ignores Range requests");
  });

  it("a 206 without a readable Content-Range: names the missing Access-Control-Expose-Headers", async () => {
    const got = await failure({ hideContentRange: true }, "one/model.safetensors");
    expect(got?.error.code).toBe("E_UNSUPPORTED");
    expect(got?.error.message).toContain("Access-Control-Expose-Headers: Content-Range");
  });
});
