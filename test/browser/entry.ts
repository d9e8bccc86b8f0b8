/**
 * The page side of the Chromium proof (bundled with `deno bundle --platform browser`). Everything comes
 * from the public `mod.ts`; the page reports a JSON summary and Node compares it with its own results, so
 * a check that passes only by comparing the browser with itself cannot slip through.
 */
import {
  convert,
  createCpuEngine,
  createEngine,
  dcp,
  type Engine,
  engine as engineLayer,
  HttpStorage,
  loadToGpu,
  openTensorSource,
  OpfsStorage,
} from "../../mod.ts";
import { readGpuBuffer } from "../engine/gpu_readback.ts";
import { describeStorage } from "../storage/storage_spec.ts";
import { all16BitPatterns, dcpStateDict, sha256Hex, summarizeStateDict } from "./fixtures.ts";
import { runSpecs, type SpecResult } from "./mini_vitest.ts";
import { describeOpfsStorage } from "./opfs_spec.ts";

const { openDcp, saveStateDict } = dcp;
const { convertCpu } = engineLayer;
type GpuEngine = engineLayer.GpuEngine;

/** Each section holds its result or the error that stopped it, so one failure does not hide the others. */
export type Section<T> = { ok: true; value: T } | { ok: false; error: string };

export interface BrowserReport {
  userAgent: string;
  gpu: Section<{ adapter: string; fallback: boolean; kind: string }>;
  remoteLoad: Section<{ name: string; dtype: string; shape: number[]; equalsCpu: boolean; sha256: string }[]>;
  remoteDcp: Section<string[]>;
  patterns: Section<{ from: string; mismatches: number; sha256: string }[]>;
  opfs: Section<
    { files: string[]; stateDict: string[]; converted: string[]; safetensorsSha256: string; readBackEqual: boolean }
  >;
  spec: Section<SpecResult[]>;
}

const OPFS_FOLDER = "webdcp-chromium-proof";

async function section<T>(body: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) };
  }
}

export async function runChecks(): Promise<BrowserReport> {
  const http = new HttpStorage(new URL("fixtures/", location.href));
  let engine: GpuEngine | undefined;
  const gpu = await section(async () => {
    engine = await createEngine({ kind: "gpu" }) as GpuEngine;
    return { adapter: engine.adapterName, fallback: engine.context.isFallbackAdapter, kind: engine.kind };
  });
  const needGpu = (): GpuEngine => {
    if (!engine) throw new Error("no WebGPU engine (see gpu)");
    return engine;
  };
  const report: BrowserReport = {
    userAgent: navigator.userAgent,
    gpu,
    remoteLoad: await section(() => loadRemoteSafetensors(http, needGpu())),
    remoteDcp: await section(async () => {
      const ckpt = await openDcp(http, "ckpt");
      try {
        return await summarizeStateDict(await ckpt.readStateDict());
      } finally {
        await ckpt.close();
      }
    }),
    patterns: await section(() => convertAllPatterns(needGpu())),
    opfs: await section(() => opfsRoundTrip(engine ?? createCpuEngine())),
    spec: await section(runStorageSpec),
  };
  engine?.dispose();
  return report;
}

/** (a) A remote model.safetensors, every tensor into WebGPU cast to bfloat16, read back against the CPU twin. */
async function loadRemoteSafetensors(http: HttpStorage, engine: GpuEngine) {
  const source = await openTensorSource(http, "model.safetensors");
  try {
    const { tensors: loaded } = await loadToGpu(source, { engine, dtype: "bfloat16", stagingBytes: 1000 });
    const out = [];
    for (const [name, t] of loaded) {
      const stored = await source.readTensor(name);
      const expected = t.dtype === stored.dtype ? stored.data : convertCpu(stored.data, stored.dtype, t.dtype);
      const got = await readGpuBuffer(engine.context.device, t.buffer, t.byteLength);
      t.buffer.destroy();
      out.push({
        name,
        dtype: t.dtype,
        shape: t.shape,
        equalsCpu: equalBytes(got, expected),
        sha256: await sha256Hex(got),
      });
    }
    return out;
  } finally {
    await source.close();
  }
}

/** (b) Every f16 and bf16 bit pattern to f32 on the GPU, against the CPU twin. */
async function convertAllPatterns(engine: GpuEngine) {
  const all = all16BitPatterns();
  const out = [];
  for (const from of ["float16", "bfloat16"] as const) {
    const onGpu = await engine.convert(all, from, "float32");
    const onCpu = convertCpu(all, from, "float32");
    const a = new Uint32Array(onGpu.buffer, onGpu.byteOffset, 65536);
    const b = new Uint32Array(onCpu.buffer, onCpu.byteOffset, 65536);
    let mismatches = 0;
    for (let i = 0; i < 65536; i++) if (a[i] !== b[i]) mismatches++;
    out.push({ from, mismatches, sha256: await sha256Hex(onGpu) });
  }
  return out;
}

/** (c) A 2-rank DCP saved into OPFS, read back, and converted to safetensors inside OPFS. */
async function opfsRoundTrip(engine: Engine) {
  const origin = await OpfsStorage.origin();
  await origin.remove(OPFS_FOLDER, { recursive: true }).catch(() => {});
  const opfs = await OpfsStorage.origin(OPFS_FOLDER);
  try {
    await saveStateDict(opfs, "ckpt", dcpStateDict(), { ranks: 2 });
    const files = ((await opfs.list("ckpt")) ?? []).map((e) => e.name);
    const ckpt = await openDcp(opfs, "ckpt");
    const stateDict = await summarizeStateDict(await ckpt.readStateDict());
    const report = await convert({ storage: opfs, path: "ckpt" }, { storage: opfs, path: "hf" }, {
      to: "safetensors",
      engine,
    });
    let readBackEqual = true;
    const hf = await openTensorSource(opfs, "hf");
    for (const e of hf.entries) {
      const a = await hf.readTensor(e.name);
      const b = await ckpt.readTensor(e.name);
      readBackEqual &&= a.dtype === b.dtype && equalBytes(a.data, b.data);
    }
    await hf.close();
    await ckpt.close();
    return {
      files,
      stateDict,
      converted: report.files,
      safetensorsSha256: await sha256Hex(await opfs.readAll("hf/model.safetensors")),
      readBackEqual,
    };
  } finally {
    await origin.remove(OPFS_FOLDER, { recursive: true }).catch(() => {});
  }
}

/** The shared Storage behaviour suite (test/storage/storage_spec.ts) and OPFS's own, against OpfsStorage. */
async function runStorageSpec(): Promise<SpecResult[]> {
  const origin = await OpfsStorage.origin();
  let n = 0;
  const fresh = () => OpfsStorage.origin(`${OPFS_FOLDER}-spec/${n++}`);
  describeStorage("OpfsStorage", fresh, { openSourceKeepsReplacedBytes: false });
  describeOpfsStorage(fresh);
  try {
    return await runSpecs();
  } finally {
    await origin.remove(`${OPFS_FOLDER}-spec`, { recursive: true }).catch(() => {});
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
