/**
 * The manager with an S3 bucket as its checkpoint folder, against a real S3 API server (moto, from the pinned
 * Python peers, checking signatures): interval saves written asynchronously, `keep_latest_k` purging old
 * steps by prefix, a crashed writer's step without `.metadata` left beside them, and a new manager resuming
 * from the newest complete step. Folders on S3 are key prefixes: listing steps, "is this step complete" (a
 * HEAD of `.metadata`) and removing a step (deleting every key under its prefix) all go through the API.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDcp } from "../../src/dcp/mod.ts";
import { CheckpointManager } from "../../src/manager/mod.ts";
import { S3Storage } from "../../src/storage/s3/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { type MotoServer, startMoto } from "../storage/s3/moto_server.ts";
import { toyStates, values } from "./states_fixture.ts";

const BUCKET = "manager";
const PART = 64 << 10;

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto(inject("python"), PART);
  await moto.createBucket(BUCKET);
});
afterAll(async () => {
  await moto?.stop();
});

function bucket(prefix: string): S3Storage {
  return new S3Storage({
    bucket: BUCKET,
    prefix,
    endpoint: moto.endpoint,
    credentials: moto.credentials,
    partSize: PART,
    env: {},
  });
}

async function stepNames(s: S3Storage): Promise<string[]> {
  return ((await s.list("")) ?? []).map((e) => e.name).sort();
}

/** The states of training step `step`: every tensor, scalar and the data loader's bytes depend on it. */
function statesAt(step: number) {
  return toyStates(step);
}

describe("CheckpointManager on S3 (moto)", () => {
  it("saves every interval steps asynchronously, keeps the latest k, resumes from the newest complete step", async () => {
    const storage = bucket("run-1/checkpoint");
    const config = { checkpoint: { enable: true, interval: 2, async_mode: "async", keep_latest_k: 2 } } as const;
    const states = statesAt(0);
    const m = new CheckpointManager(config, { storage, states });
    expect(await m.maybeLoad()).toMatchObject({ loaded: false, source: "fresh" });
    for (let step = 1; step <= 8; step++) {
      // A training step: the states become those of this step, in place, as an optimizer updates them.
      const next = statesAt(step);
      for (const name of ["model", "optimizer", "lr_scheduler", "dataloader", "train_state"] as const) {
        const [held, fresh] = [states[name].sd as Record<string, unknown>, next[name].sd as Record<string, unknown>];
        for (const [k, v] of Object.entries(fresh)) {
          const t = held[k] as Tensor | undefined;
          if (t && typeof t === "object" && "data" in t) t.data.set((v as Tensor).data);
          else held[k] = v;
        }
      }
      const r = await m.save(step);
      expect(r.saved).toBe(step % 2 === 0);
    }
    await m.close();
    expect(m.warnings).toEqual([]);
    // Steps 2 and 4 were purged by prefix; 6 and 8 are whole DCP checkpoints of their steps.
    expect(await stepNames(storage)).toEqual(["step-6", "step-8"]);
    for (const step of [6, 8]) {
      const ckpt = await openDcp(storage, `step-${step}`);
      expect(values(await ckpt.readTensor("embed.weight"))).toEqual(
        values(statesAt(step).model.sd["embed.weight" as never] as Tensor),
      );
      expect(await ckpt.readValue("train_state.step")).toBe(step);
      await ckpt.close();
    }

    // A writer killed during step 10 left its data but never committed .metadata.
    await storage.writeAll("step-10/__0_0.distcp", Uint8Array.of(1, 2, 3));
    const resumed = statesAt(0);
    const again = new CheckpointManager(config, { storage, states: resumed });
    const r = await again.maybeLoad();
    expect(r).toMatchObject({ loaded: true, source: "step", step: 8, modelOnly: false });
    expect(r.keys).toEqual({ model: 3, optimizer: 6, lr_scheduler: 1, dataloader: 2, train_state: 2 });
    expect(values(resumed.model.loaded!.get("embed.weight") as Tensor)).toEqual(
      values(statesAt(8).model.sd["embed.weight" as never] as Tensor),
    );
    expect(resumed.dataloader.loaded!.get("dp_rank_0")).toEqual(Uint8Array.of(0x80, 0x04, 8));
    expect(resumed.train_state.loaded!.get("step")).toBe(8);

    // The next save purges as TorchTitan counts (the unfinished step-10 is one of the k): step-8 goes once
    // step-12 is committed.
    await again.save(12);
    await again.close();
    expect(again.warnings).toEqual([]);
    expect(await stepNames(storage)).toEqual(["step-10", "step-12"]);
    expect(await storage.stat("step-12/.metadata")).toBeDefined();
  });
});
