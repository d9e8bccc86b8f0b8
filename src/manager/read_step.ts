/**
 * Reading a step into the flattened target state, as `dcp.load` does with its default planner: every key
 * of the target must be in the checkpoint (strict; all missing keys are named at once), keys only the
 * checkpoint has are ignored, tensors must match in shape and are cast to the target's dtype. HF folders
 * are read through a model adapter (model only).
 */
import type { StateDictAdapter } from "../adapters/mod.ts";
import type { StateLeaf } from "../dcp/mod.ts";
import { openDcp } from "../dcp/mod.ts";
import type { DType } from "../dtype/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { openSafetensorsFolder } from "../safetensors/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { isTensor, numel } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";
import { GpuStateTensor } from "./states.ts";

export interface StepRead {
  storage: Storage;
  dir: string;
  /** FQN -> the target's current leaf (tells tensor from value, and the shape and dtype wanted). */
  target: ReadonlyMap<string, unknown>;
  engine: Engine;
  signal?: AbortSignal;
}

function wanted(leaf: unknown): { dtype: DType; shape: readonly number[] } | undefined {
  if (leaf instanceof GpuStateTensor || isTensor(leaf)) return { dtype: leaf.dtype, shape: leaf.shape };
  return undefined;
}

function missingError(keys: string[], path: string): FormatError {
  return new FormatError(
    "E_MISSING_KEY",
    `${keys.length} key(s) to load are not in the checkpoint: ${keys.join(", ")}`,
    { path },
  );
}

async function fitTensor(
  fqn: string,
  t: Tensor,
  want: { dtype: DType; shape: readonly number[] },
  engine: Engine,
  path: string,
): Promise<Tensor> {
  if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
    throw new FormatError("E_SHAPE", `'${fqn}' is [${t.shape}] in the checkpoint, the state wants [${want.shape}]`, {
      path,
    });
  }
  if (t.dtype === want.dtype) return t;
  return { dtype: want.dtype, shape: t.shape, data: await engine.convert(t.data, t.dtype, want.dtype) };
}

/** A DCP step: FQN -> loaded leaf for every target key. */
export async function readDcpStep(r: StepRead): Promise<Map<string, StateLeaf>> {
  const ckpt = await openDcp(r.storage, r.dir);
  try {
    const stored = ckpt.metadata.stateDictMetadata;
    const missing = [...r.target.keys()].filter((k) => !stored.has(k));
    if (missing.length > 0) throw missingError(missing, r.dir);
    const out = new Map<string, StateLeaf>();
    for (const [fqn, leaf] of r.target) {
      r.signal?.throwIfAborted();
      const want = wanted(leaf);
      const kind = stored.get(fqn)!.kind;
      if (want !== undefined && kind !== "tensor") {
        throw new FormatError("E_METADATA", `'${fqn}' is a tensor in the state but a value in the checkpoint`, {
          path: r.dir,
        });
      }
      out.set(
        fqn,
        kind === "tensor"
          ? await fitTensor(fqn, await ckpt.readTensor(fqn), want ?? noCast(stored.get(fqn)), r.engine, r.dir)
          : await ckpt.readValue(fqn),
      );
    }
    return out;
  } finally {
    await ckpt.close();
  }
}

function noCast(e: unknown): { dtype: DType; shape: readonly number[] } {
  const t = e as { dtype: DType; size: number[] };
  return { dtype: t.dtype, shape: t.size };
}

/** An HF folder through a `from-hf` adapter: the model's keys, rows put back in TorchTitan's order. */
export async function readHfStep(r: StepRead & { adapter: StateDictAdapter }): Promise<Map<string, StateLeaf>> {
  const folder = await openSafetensorsFolder(r.storage, r.dir);
  try {
    const plan = r.adapter.plan([...folder.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), {
      path: r.dir,
    });
    const byTarget = new Map(plan.entries.map((e) => [e.targetName, e]));
    const missing = [...r.target.keys()].filter((k) => !byTarget.has(k));
    if (missing.length > 0) throw missingError(missing, r.dir);
    const out = new Map<string, StateLeaf>();
    for (const [fqn, leaf] of r.target) {
      r.signal?.throwIfAborted();
      const e = byTarget.get(fqn)!;
      const src = await folder.readTensor(e.sourceName);
      const want = wanted(leaf) ?? { dtype: src.dtype, shape: e.shape };
      const data = e.rowPermutation === undefined ? src.data : await r.engine.gatherRows({
        src: src.data,
        srcDType: src.dtype,
        dstDType: src.dtype,
        rowElements: numel(src.shape.slice(1)),
        rows: e.rowPermutation,
      });
      out.set(fqn, await fitTensor(fqn, { dtype: src.dtype, shape: e.shape, data }, want, r.engine, r.dir));
    }
    return out;
  } finally {
    await folder.close();
  }
}
