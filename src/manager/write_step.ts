/**
 * Writing one step folder: a DCP checkpoint through the DCP writer (`.metadata` committed last), either
 * the full state or the model alone cast to `export_dtype`; or, with `last_save_in_hf`, HF safetensors
 * through a model adapter, with the index committed last (TorchTitan counts an HF step only with it).
 */
import type { DType } from "../dtype/mod.ts";
import { DTYPE_INFO } from "../dtype/mod.ts";
import type { StateDictAdapter } from "../adapters/mod.ts";
import type { DcpWriteItem, StateLeaf, StatePath, WriteDcpOptions } from "../dcp/mod.ts";
import { writeDcp } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { UsageError } from "../errors/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import { planShards, SAFETENSORS_INDEX_NAME, writeSafetensors, writeSafetensorsIndex } from "../safetensors/mod.ts";
import type { SafetensorsEntry } from "../safetensors/mod.ts";
import { joinPath, writeFile } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { isTensor, numel } from "../tensor/mod.ts";
import type { Tensor } from "../tensor/mod.ts";

export interface StepWrite {
  storage: Storage;
  dir: string;
  entries: ReadonlyMap<string, StateLeaf>;
  plannerData: ReadonlyMap<string, StatePath>;
  engine: Engine;
  /** Cast floating tensors of another dtype to this one (the model-only last save). */
  castTo?: DType;
  onProgress?: WriteDcpOptions["onProgress"];
}

/** One rank's DCP file: tensors cast as they are written, so no second copy of the state is held. */
export async function writeDcpStep(w: StepWrite): Promise<void> {
  const items: DcpWriteItem[] = [];
  for (const [fqn, leaf] of w.entries) {
    if (!isTensor(leaf)) {
      items.push({ fqn, value: leaf as PyValue });
      continue;
    }
    const to = castTarget(leaf, w.castTo);
    items.push({
      fqn,
      dtype: to,
      globalShape: [...leaf.shape],
      offsets: leaf.shape.map(() => 0),
      sizes: [...leaf.shape],
      data: to === leaf.dtype ? leaf.data : () => w.engine.convert(leaf.data, leaf.dtype, to),
    });
  }
  await writeDcp(w.storage, w.dir, { ranks: [items], plannerData: new Map(w.plannerData) }, {
    onProgress: w.onProgress,
  });
}

/** TorchTitan casts only floating tensors whose dtype differs from the export dtype. */
function castTarget(t: Tensor, castTo: DType | undefined): DType {
  return castTo !== undefined && DTYPE_INFO[t.dtype].floating ? castTo : t.dtype;
}

/** HF file name of shard `index` of `count`, as PyTorch's HF writer names consolidated files. */
function hfShardName(index: number, count: number): string {
  const five = (k: number) => String(k).padStart(5, "0");
  return `model-${five(index + 1)}-of-${five(count)}.safetensors`;
}

/** HF safetensors (5 GB shards), `config.json` and the index, written last. */
export async function writeHfStep(w: StepWrite & { adapter: StateDictAdapter; maxShardBytes?: number }): Promise<void> {
  const source = new Map<string, Tensor>();
  for (const [fqn, leaf] of w.entries) {
    if (!isTensor(leaf)) {
      throw new UsageError("E_USAGE", `an HF save holds tensors only; model entry '${fqn}' is a value`);
    }
    source.set(fqn, leaf);
  }
  const plan = w.adapter.plan([...source].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })));
  const entries: SafetensorsEntry[] = plan.entries.map((e) => {
    const src = source.get(e.sourceName)!;
    const to = castTarget(src, w.castTo);
    const perm = e.rowPermutation;
    return {
      name: e.targetName,
      dtype: to,
      shape: e.shape,
      data: perm === undefined
        ? (to === src.dtype ? src.data : () => w.engine.convert(src.data, src.dtype, to))
        : () =>
          w.engine.gatherRows({
            src: src.data,
            srcDType: src.dtype,
            dstDType: to,
            rowElements: numel(src.shape.slice(1)),
            rows: perm,
          }),
    };
  });
  const shards = planShards(entries, w.maxShardBytes ?? 5_000_000_000);
  const weightMap = new Map<string, string>();
  for (const [i, shard] of shards.shards.entries()) {
    const name = hfShardName(i, shards.shards.length);
    await writeFile(
      w.storage,
      joinPath(w.dir, name),
      (sink) => writeSafetensors(sink, shard.entries, { format: "pt" }),
    );
    for (const e of shard.entries) weightMap.set(e.name, name);
  }
  const dtype = w.castTo ?? entries[0]?.dtype;
  for (const f of w.adapter.extraFiles({ dtype })) await w.storage.writeAll(joinPath(w.dir, f.path), f.bytes);
  await writeSafetensorsIndex(w.storage, joinPath(w.dir, SAFETENSORS_INDEX_NAME), {
    metadata: { total_size: shards.totalSize },
    weightMap,
  });
}
