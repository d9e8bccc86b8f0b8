/**
 * The example page's checkpoint: a small Llama-shaped model (float32 and bfloat16 weights, uneven dim-0
 * shards) saved as a 4-rank DCP, deterministic so that every run and every test sees the same bytes.
 */
import { dcp, type Storage } from "../../mod.ts";
import { demoModel } from "../demo_model.ts";

export const DEMO_RANKS = 4;

/** Writes the demo checkpoint to `dir` of `storage` (4 ranks, dim-0 chunks). */
export async function writeDemoCheckpoint(storage: Storage, dir: string): Promise<void> {
  await dcp.saveStateDict(storage, dir, { model: demoModel(20261205).model, train_state: { step: 100 } }, {
    ranks: DEMO_RANKS,
  });
}
