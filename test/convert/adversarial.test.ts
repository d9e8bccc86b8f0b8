import * as fs from "node:fs";
import * as nodePath from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { getAdapter } from "../../src/adapters/mod.ts";
import { convert } from "../../src/jobs/mod.ts";
import { openTensorSource } from "../../src/source/mod.ts";
import type { TensorSource } from "../../src/source/mod.ts";
import { convertSource } from "../../src/jobs/convert.ts";
import { saveStateDict } from "../../src/dcp/mod.ts";
import { convertCpu, createCpuEngine } from "../../src/engine/mod.ts";
import { writeSafetensors } from "../../src/safetensors/mod.ts";
import type { Box } from "../../src/tensor/mod.ts";
import { boxNumel, makeTensor } from "../../src/tensor/mod.ts";
import { encodeTorch } from "../../src/torch/mod.ts";
import { at, removeDir, tempDir } from "./fixtures.ts";

const engine = createCpuEngine();
let dir: string;

beforeAll(async () => {
  dir = tempDir("adv");
  const big = makeTensor("float32", [64, 16], new Uint8Array(new Float32Array(64 * 16).map((_, i) => i).buffer));
  await saveStateDict(at(dir).storage, "dcp", { big, small: makeTensor("int8", [3]) }, { ranks: 3 });
});
afterAll(() => removeDir(dir));

describe("convert() streaming", () => {
  test("reads each tensor in row bands no larger than the band budget, and the output is whole", async () => {
    const source = await openTensorSource(at(dir).storage, "dcp");
    const boxes: Box[] = [];
    const spy: TensorSource = {
      ...source,
      readTensor: (name, box) => (boxes.push(box!), source.readTensor(name, box)),
    };
    try {
      await convertSource(spy, at(dir, "banded.safetensors"), {
        to: "safetensors",
        dtype: "bfloat16",
        bandBytes: 256,
        engine,
      });
    } finally {
      await source.close();
    }
    // 16 float32 columns = 64 bytes a row: 4 rows a band, 16 bands for 64 rows.
    expect(boxes.filter((b) => b.sizes.length === 2).map((b) => b.sizes[0])).toEqual(new Array(16).fill(4));
    expect(Math.max(...boxes.map((b) => boxNumel(b) * 4))).toBeLessThanOrEqual(256);
    const out = await openTensorSource(at(dir).storage, "banded.safetensors");
    try {
      const t = await out.readTensor("big");
      expect(t.dtype).toBe("bfloat16");
      expect(new Uint16Array(t.data.buffer, t.data.byteOffset, 2)[1]).toBe(0x3f80); // 1.0
    } finally {
      await out.close();
    }
  });
});

describe("convert() streaming to DCP and torch.save", () => {
  for (const to of ["dcp", "torch"] as const) {
    test(`--to ${to} reads and writes every tensor in row bands no larger than the band budget`, async () => {
      const source = await openTensorSource(at(dir).storage, "dcp");
      const boxes: Box[] = [];
      const spy: TensorSource = {
        ...source,
        readTensor: (name, box, out) => (boxes.push(box!), source.readTensor(name, box, out)),
      };
      const name = `banded-${to}${to === "torch" ? ".pt" : ""}`;
      try {
        await convertSource(spy, at(dir, name), { to, dtype: "bfloat16", bandBytes: 256, engine });
      } finally {
        await source.close();
      }
      expect(boxes.filter((b) => b.sizes.length === 2).map((b) => b.sizes[0])).toEqual(new Array(16).fill(4));
      const out = await openTensorSource(at(dir).storage, name);
      try {
        const t = await out.readTensor("big");
        const f32 = new Uint8Array(new Float32Array(64 * 16).map((_, i) => i).buffer);
        expect(t.dtype).toBe("bfloat16");
        expect(t.data).toEqual(convertCpu(f32, "float32", "bfloat16"));
      } finally {
        await out.close();
      }
    });
  }
});

describe("convert() (adversarial)", () => {
  test("a path that does not exist is E_NOT_FOUND naming it", async () => {
    await expect(convert(at(dir, "missing.pt"), at(dir, "x.safetensors"), { to: "safetensors", engine }))
      .rejects.toMatchObject({ code: "E_NOT_FOUND", path: "missing.pt" });
  });

  test("a folder with no checkpoint in it is refused", async () => {
    fs.mkdirSync(nodePath.join(dir, "empty"));
    fs.writeFileSync(nodePath.join(dir, "empty", "notes.txt"), "hi");
    await expect(openTensorSource(at(dir).storage, "empty")).rejects.toMatchObject({
      code: "E_NOT_FOUND",
      path: "empty",
    });
  });

  test("a .pt holding a bare tensor (not a state dict) is E_UNSUPPORTED", async () => {
    fs.writeFileSync(nodePath.join(dir, "bare.pt"), encodeTorch(makeTensor("float32", [2])));
    await expect(openTensorSource(at(dir).storage, "bare.pt")).rejects.toMatchObject({
      code: "E_UNSUPPORTED",
      path: "bare.pt",
    });
  });

  test("garbage in a .bin file fails with a typed error naming the file", async () => {
    fs.writeFileSync(nodePath.join(dir, "junk.bin"), Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 1, 2, 3));
    await expect(openTensorSource(at(dir).storage, "junk.bin")).rejects.toMatchObject({ path: "junk.bin" });
  });

  test("--part cannot split a single torch.save file", async () => {
    await expect(convert(at(dir, "dcp"), at(dir, "p.pt"), { to: "torch", part: { index: 0, count: 2 }, engine }))
      .rejects.toMatchObject({ code: "E_USAGE" });
  });

  test("an adapter fails on keys it does not know, naming them", async () => {
    const adapter = getAdapter("llama3", { flavor: "debugmodel", direction: "to-hf" });
    await expect(convert(at(dir, "dcp"), at(dir, "hf"), { to: "safetensors", adapter, engine }))
      .rejects.toMatchObject({ code: "E_UNKNOWN_KEY", message: expect.stringContaining("big") });
  });

  test("--hf-assets-path copies config and tokenizer files and follows the asset index's shard plan", async () => {
    const assets = nodePath.join(dir, "assets");
    fs.mkdirSync(assets);
    fs.writeFileSync(nodePath.join(assets, "config.json"), '{"model_type":"llama"}');
    fs.writeFileSync(nodePath.join(assets, "tokenizer.json"), "{}");
    fs.writeFileSync(
      nodePath.join(assets, "model.safetensors.index.json"),
      JSON.stringify({
        metadata: { total_size: 0 },
        weight_map: { big: "model-00002-of-00002.safetensors", small: "model-00001-of-00002.safetensors" },
      }),
    );
    const report = await convert(at(dir, "dcp"), at(nodePath.join(dir, "hf_out")), {
      to: "safetensors",
      hfAssets: at(assets),
      engine,
    });
    expect(report.files.sort()).toEqual([
      "config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
    ]);
    const index = JSON.parse(fs.readFileSync(nodePath.join(dir, "hf_out", "model.safetensors.index.json"), "utf8"));
    expect(index.weight_map).toEqual({
      big: "model-00002-of-00002.safetensors",
      small: "model-00001-of-00002.safetensors",
    });
  });

  test("an asset shard plan that misses an output tensor is a usage error listing it", async () => {
    const assets = nodePath.join(dir, "assets2");
    fs.mkdirSync(assets);
    fs.writeFileSync(
      nodePath.join(assets, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { big: "model.safetensors" } }),
    );
    await expect(
      convert(at(dir, "dcp"), at(nodePath.join(dir, "hf_out2")), { to: "safetensors", hfAssets: at(assets), engine }),
    )
      .rejects.toMatchObject({ code: "E_USAGE", message: expect.stringContaining("small") });
  });

  test("a safetensors entry whose data is shorter than its header says is never written out", async () => {
    const sink = await at(dir).storage.create("short.safetensors");
    await writeSafetensors(sink, [{
      name: "t",
      dtype: "int32",
      shape: [2],
      data: Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0),
    }]);
    await sink.close();
    const p = nodePath.join(dir, "short.safetensors");
    fs.truncateSync(p, fs.statSync(p).size - 4);
    await expect(convert(at(dir, "short.safetensors"), at(dir, "short.pt"), { to: "torch", engine }))
      .rejects.toMatchObject({ path: "short.safetensors" });
    expect(fs.existsSync(nodePath.join(dir, "short.pt"))).toBe(false);
  });
});
