/** The step folders of a checkpoint folder and which of them are complete. */
import { SAFETENSORS_INDEX_NAME } from "../safetensors/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { parseStepDir } from "./policy.ts";

export interface StepFolder {
  step: number;
  name: string;
  /** `dcp` with `.metadata`, `hf` with a safetensors index; undefined while (or if never) finished. */
  complete?: "dcp" | "hf";
}

/** Every `step-N` folder, oldest first; undefined when the folder itself does not exist. */
export async function listSteps(storage: Storage): Promise<StepFolder[] | undefined> {
  const entries = await storage.list("");
  if (entries === undefined) return undefined;
  const out: StepFolder[] = [];
  for (const e of entries) {
    if (e.kind !== "dir") continue;
    const step = parseStepDir(e.name);
    if (step === undefined) continue;
    out.push({ step, name: e.name, complete: await completeness(storage, e.name) });
  }
  return out.sort((a, b) => a.step - b.step || (a.name < b.name ? -1 : 1));
}

/** How a step folder is complete: DCP commits `.metadata` last, an HF save its index last. */
export async function completeness(storage: Storage, dir: string): Promise<"dcp" | "hf" | undefined> {
  if (await storage.stat(joinPath(dir, ".metadata"))) return "dcp";
  if (await storage.stat(joinPath(dir, SAFETENSORS_INDEX_NAME))) return "hf";
  return undefined;
}

/** TorchTitan's `_find_load_step`: the highest complete step, -1 when none. */
export function newestComplete(steps: readonly StepFolder[]): StepFolder | undefined {
  let best: StepFolder | undefined;
  for (const s of steps) if (s.complete && (!best || s.step > best.step)) best = s;
  return best;
}
