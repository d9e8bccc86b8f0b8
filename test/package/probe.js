/**
 * One job run on an installed webdcp exactly alike in Node, Deno, headless Chromium and on the repository's
 * own sources (the reference): save a 2-rank DCP into memory, read a tensor back, convert the DCP to
 * bfloat16 safetensors, and summarise everything as SHA-256 digests. Plain JavaScript, so every runtime
 * loads it as it is; it takes the module namespace under test and only uses its public names.
 */

/** Float32 values from an integer hash: the same bits in every engine (no Math.random, no Math.sin). */
function f32(count, seed) {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (Math.imul(i + seed, 2654435761) >>> 0) / 2 ** 32 - 0.5;
  return new Uint8Array(values.buffer);
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Digests of the files in `folder`; `.metadata` is described by its entries instead, as it holds a random save id. */
async function digests(storage, folder) {
  const out = {};
  for (const entry of (await storage.list(folder)) ?? []) {
    if (entry.kind === "file" && entry.name !== ".metadata") {
      out[entry.name] = await sha256(await storage.readAll(`${folder}/${entry.name}`));
    }
  }
  return out;
}

export async function probe(webdcp) {
  const storage = new webdcp.MemoryStorage();
  const model = {
    "embed.weight": { dtype: "float32", shape: [10, 6], data: f32(60, 1) },
    "layers.0.w": {
      dtype: "bfloat16",
      shape: [7, 4],
      data: webdcp.engine.convertCpu(f32(28, 2), "float32", "bfloat16"),
    },
    "norm.weight": { dtype: "float32", shape: [6], data: f32(6, 3) },
  };
  await webdcp.dcp.saveStateDict(storage, "ckpt", { model, train_state: { step: 10 } }, { ranks: 2 });
  const ckpt = await webdcp.dcp.openDcp(storage, "ckpt");
  const back = await ckpt.readTensor("model.embed.weight");
  await webdcp.convert({ storage, path: "ckpt" }, { storage, path: "hf" }, {
    to: "safetensors",
    dtype: "bfloat16",
    engine: webdcp.createCpuEngine(),
  });
  return {
    exports: Object.keys(webdcp).sort(),
    dcp: await digests(storage, "ckpt"),
    entries: ckpt.entries().map((e) => `${e.name} ${e.dtype ?? ""} [${e.shape ?? ""}]`),
    readBack: { dtype: back.dtype, shape: back.shape, sha256: await sha256(back.data) },
    readBackEqual: await sha256(back.data) === await sha256(model["embed.weight"].data),
    safetensors: await digests(storage, "hf"),
  };
}
