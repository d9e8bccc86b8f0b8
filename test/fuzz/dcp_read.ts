import { expect } from "vitest";
import { type DcpCheckpoint, openDcp } from "../../src/dcp/mod.ts";
import type { PyValue } from "../../src/pickle/mod.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import { isTensor, type Tensor } from "../../src/tensor/mod.ts";
import { checkPyValue, checkTensor } from "./guard.ts";
import { hex, type Seed, seed } from "./seeds.ts";
import { collect, cutBox, upperHalf } from "./walk.ts";

/** The real 2-rank `dcp.save` folder: `.metadata` first, then the data files. */
export const dcpFiles: Seed[] = [seed("dcp/.metadata"), seed("dcp/__0_0.distcp"), seed("dcp/__1_0.distcp")];
/** The same save with `use_collectives=False`: one `__<rank>.metadata` per rank, merged by the reader. */
export const dcpLocalFiles: Seed[] = ["__0.metadata", "__1.metadata", "__0_0.distcp", "__1_0.distcp"]
  .map((f) => seed(`dcp_local/${f}`));
export const totalBytes = (set: Seed[]) => set.reduce((n, f) => n + f.bytes.byteLength, 0);

export interface ReadBack {
  tensors: Map<string, Tensor>;
  values: Map<string, PyValue>;
}

/**
 * openDcp over the files (placed in `ckpt/`), then every tensor (whole, its upper half, and chunk by chunk)
 * and every BYTE_IO value.
 */
export async function readCheckpoint(set: Seed[]): Promise<ReadBack> {
  const storage = new MemoryStorage();
  for (const f of set) await storage.writeAll(f.name.replace(/^[^/]+\//, "ckpt/"), f.bytes);
  const total = totalBytes(set);
  const ckpt: DcpCheckpoint = await openDcp(storage, "ckpt");
  const out: ReadBack = { tensors: new Map(), values: new Map() };
  try {
    for (const e of ckpt.entries()) {
      if (e.kind === "tensor") {
        const t = await ckpt.readTensor(e.name);
        checkTensor(t, total, e.name);
        expect({ dtype: t.dtype, shape: t.shape }, e.name).toEqual({ dtype: e.dtype, shape: e.shape });
        const box = upperHalf(t.shape);
        const part = await ckpt.readTensor(e.name, box);
        checkTensor(part, total, `${e.name} box`);
        expect(hex(part.data), `${e.name}: box read = box cut from the whole read`).toBe(hex(cutBox(t, box)));
        for (let i = 0; i < e.chunks.length; i++) {
          const c = await ckpt.readChunk(e.name, i);
          checkTensor(c, total, `${e.name} chunk ${i}`);
          expect(c.shape, `${e.name} chunk ${i}`).toEqual(e.chunks[i].sizes);
        }
        out.tensors.set(e.name, t);
      } else {
        const v = await ckpt.readValue(e.name);
        checkPyValue(v, isTensor);
        for (const t of collect(v, isTensor)) checkTensor(t, total, e.name);
        out.values.set(e.name, v);
      }
    }
  } finally {
    await ckpt.close();
  }
  return out;
}
