/**
 * The demo's checkpoint-manager part: a seed checkpoint from the command line, then a short managed run
 * (interval saves written asynchronously, keep_latest_k) and a restart that resumes from the newest step.
 */
import { join } from "node:path";
import { CheckpointManager, dcp, FileStorage, type Stateful, type Tensor } from "../mod.ts";

export async function managedRun(
  root: string,
  cli: (args: string[]) => Promise<void>,
  log: (t: string) => void,
): Promise<void> {
  await cli(["seed", "--model", "llama3", "--flavor", "debugmodel", "--out", join(root, "seed"), "--seed", "1"]);
  const seed = await dcp.openDcp(new FileStorage(join(root, "seed")), "step-0");
  log(
    `seed checkpoint: ${seed.entries().length} llama3 debugmodel tensors in step-0 (TorchTitan's init, any rank count gives these values)`,
  );
  await seed.close();

  // A toy program: one weight the "training" moves by the step number, and a step counter.
  const w = new Float32Array(1024);
  let step = 0;
  const model: Stateful = {
    stateDict: () => ({ w: { dtype: "float32", shape: [1024], data: new Uint8Array(w.buffer) } satisfies Tensor }),
    loadStateDict: (sd) => w.set(new Float32Array((sd.get("w") as Tensor).data.slice().buffer)),
  };
  const trainState: Stateful = {
    stateDict: () => ({ step }),
    loadStateDict: (sd) => void (step = sd.get("step") as number),
  };
  const checkpoint = { enable: true, interval: 2, async_mode: "async", keep_latest_k: 2, last_save_model_only: false };
  const storage = new FileStorage(join(root, "managed"));
  const first = new CheckpointManager({ checkpoint, training: { steps: 8 } }, {
    storage,
    states: { model, train_state: trainState },
  });
  const blocking: number[] = [];
  for (step = 1; step <= 5; step++) {
    w.fill(step);
    const r = await first.save(step);
    if (r.saved) blocking.push(Math.round(r.blockingMs));
  }
  await first.close(); // "crash" after step 5: steps 2 and 4 were saved, keep_latest_k kept both
  w.fill(0);
  step = 0;
  const second = new CheckpointManager({ checkpoint, training: { steps: 8 } }, {
    storage,
    states: { model, train_state: trainState },
  });
  const resumed = await second.maybeLoad();
  if (resumed.step !== 4 || step !== 4 || w[0] !== 4) throw new Error(`resume went wrong: ${JSON.stringify(resumed)}`);
  for (step = 5; step <= 8; step++) {
    w.fill(step);
    await second.save(step, { last: step === 8 });
  }
  await second.close();
  const kept = ((await storage.list("")) ?? []).map((e) => e.name).sort();
  log(
    `managed run: async saves blocked ${blocking.join(", ")} ms; resumed at step ${resumed.step}; kept ${
      kept.join(", ")
    }`,
  );
}
