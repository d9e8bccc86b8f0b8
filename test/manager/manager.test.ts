import { describe, expect, it } from "vitest";
import { openDcp } from "../../src/dcp/mod.ts";
import { WebdcpError } from "../../src/errors/mod.ts";
import { CheckpointManager, type ConfigDocument } from "../../src/manager/mod.ts";
import { CheckpointManager as HostCheckpointManager } from "../../src/manager/host_manager.ts";
import { MemoryStorage } from "../../src/storage/mod.ts";
import type { Tensor } from "../../src/tensor/mod.ts";
import { f32, Holder, toyStates, values } from "./states_fixture.ts";
import type { StateDict } from "../../src/dcp/mod.ts";

function manager(checkpoint: ConfigDocument["checkpoint"], storage = new MemoryStorage(), states = toyStates()) {
  return {
    m: new CheckpointManager({ checkpoint: { enable: true, ...checkpoint } }, { storage, states }),
    storage,
    states,
  };
}

async function stepNames(storage: MemoryStorage): Promise<string[]> {
  return ((await storage.list("")) ?? []).map((e) => e.name).sort();
}

async function expectCode(p: Promise<unknown>, code: string, ...fragments: string[]): Promise<WebdcpError> {
  const err = await p.then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(WebdcpError);
  expect((err as WebdcpError).code).toBe(code);
  for (const f of fragments) expect((err as Error).message).toContain(f);
  return err as WebdcpError;
}

describe("save() policy", () => {
  it("saves every interval steps and the last step, and nothing else", async () => {
    const { m, storage } = manager({ interval: 3, keep_latest_k: 0 });
    const saved = [];
    for (let step = 1; step <= 7; step++) saved.push((await m.save(step, { last: step === 7 })).saved);
    expect(saved).toEqual([false, false, true, false, false, true, true]);
    expect(await stepNames(storage)).toEqual(["step-3", "step-6", "step-7"]);
  });

  it("enable_first_step_checkpoint saves step 1; load_only and a disabled manager save nothing", async () => {
    expect((await manager({ interval: 5, enable_first_step_checkpoint: true }).m.save(1)).saved).toBe(true);
    expect((await manager({ interval: 1, load_only: true }).m.save(5, { last: true })).saved).toBe(false);
    const off = new CheckpointManager({}, { storage: new MemoryStorage(), states: toyStates() });
    expect((await off.save(500)).saved).toBe(false);
    expect((await off.load()).loaded).toBe(false);
  });
});

describe("on-disk layout", () => {
  it("model keys flat, the other states under their names, TorchTitan's planner paths", async () => {
    const { m, storage } = manager({ interval: 1 });
    await m.save(1);
    const ckpt = await openDcp(storage, "step-1");
    const paths = new Map(ckpt.entries().map((e) => [e.name, e.path]));
    expect([...paths.keys()].sort()).toEqual([
      "counts",
      "dataloader.dp_rank_0",
      "dataloader.world_size",
      "embed.weight",
      "head.weight",
      "lr_scheduler.last_epoch",
      "optimizer.param_groups.embed.weight.betas",
      "optimizer.param_groups.embed.weight.lr",
      "optimizer.param_groups.embed.weight.params",
      "optimizer.state.embed.weight.exp_avg",
      "optimizer.state.embed.weight.exp_avg_sq",
      "optimizer.state.embed.weight.step",
      "train_state.ntokens_seen",
      "train_state.step",
    ]);
    expect(paths.get("embed.weight")).toEqual(["embed.weight"]);
    expect(paths.get("optimizer.state.embed.weight.exp_avg")).toEqual(["optimizer", "state.embed.weight.exp_avg"]);
    expect(paths.get("train_state.step")).toEqual(["train_state", "step"]);
    expect(await ckpt.readValue("dataloader.dp_rank_0")).toEqual(Uint8Array.of(0x80, 0x04, 1));
    expect(await ckpt.readValue("lr_scheduler.last_epoch")).toBe(1);
    await ckpt.close();
  });
});

describe("load()", () => {
  it("resumes every state from the newest complete step, ignoring a newer unfinished one", async () => {
    const storage = new MemoryStorage();
    const { m } = manager({ interval: 1, keep_latest_k: 0 }, storage, toyStates(2));
    await m.save(4);
    await manager({ interval: 1, keep_latest_k: 0 }, storage, toyStates(3)).m.save(5);
    await storage.remove("step-5/.metadata"); // a save that died before its commit
    const fresh = toyStates(9);
    const r = await new CheckpointManager({ checkpoint: { enable: true } }, { storage, states: fresh }).maybeLoad();
    expect(r).toMatchObject({ loaded: true, source: "step", step: 4, modelOnly: false });
    expect(r.keys).toEqual({ model: 3, optimizer: 6, lr_scheduler: 1, dataloader: 2, train_state: 2 });
    expect(values(fresh.model.loaded!.get("embed.weight") as Tensor)).toEqual(
      values(toyStates(2).model.sd["embed.weight" as never]),
    );
    expect(values(fresh.model.loaded!.get("counts") as Tensor)).toEqual([3, 4]);
    expect(values(fresh.optimizer.loaded!.get("state.embed.weight.exp_avg") as Tensor)).toEqual(
      values(f32([4, 3], (i) => i * 2)),
    );
    expect(fresh.optimizer.loaded!.get("param_groups.embed.weight.lr")).toBe(0.0008);
    expect(fresh.train_state.loaded).toEqual(new Map<string, unknown>([["step", 2], ["ntokens_seen", 200]]));
    expect(fresh.dataloader.loaded!.get("dp_rank_0")).toEqual(Uint8Array.of(0x80, 0x04, 2));
  });

  it("an explicit step without .metadata, or missing, or with no folder at all, fails", async () => {
    const storage = new MemoryStorage();
    const { m } = manager({ interval: 1 }, storage);
    await m.save(2);
    await storage.remove("step-2/.metadata");
    await expectCode(m.load(2), "E_NOT_FOUND", "step-2 is incomplete");
    await expectCode(m.load(3), "E_NOT_FOUND", "step-3 does not exist");
    await expectCode(manager({}).m.load(3), "E_NOT_FOUND", "does not exist");
  });

  it("step 0 loads the model only", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.createSeed();
    const states = toyStates(5);
    const r = await manager({}, storage, states).m.load();
    expect(r).toMatchObject({ loaded: true, step: 0, modelOnly: true, keys: { model: 3 } });
    expect(states.optimizer.loaded).toBeUndefined();
  });

  it("is strict: keys missing from the checkpoint fail, all named", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.save(1);
    const states = toyStates();
    (states.model.sd as Record<string, unknown>)["extra.a"] = f32([1], () => 0);
    (states.model.sd as Record<string, unknown>)["extra.b"] = f32([1], () => 0);
    await expectCode(manager({}, storage, states).m.load(), "E_MISSING_KEY", "2 key(s)", "extra.a", "extra.b");
  });

  it("a tensor of another shape fails; one of another dtype is cast", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.save(1);
    const states = toyStates();
    (states.model.sd as Record<string, unknown>)["head.weight"] = f32([3, 2], () => 0);
    await expectCode(manager({}, storage, states).m.load(), "E_SHAPE", "head.weight");
    const bf = toyStates();
    (bf.model.sd as Record<string, unknown>)["head.weight"] = {
      dtype: "bfloat16",
      shape: [2, 3],
      data: new Uint8Array(12),
    };
    await manager({}, storage, bf).m.load();
    const got = bf.model.loaded!.get("head.weight") as Tensor;
    expect(got.dtype).toBe("bfloat16");
    // 1 - i/4 are exact in bfloat16: the high halves of the float32 words.
    const want = new Uint16Array(new Float32Array([1, 0.75, 0.5, 0.25, 0, -0.25]).buffer).filter((_, i) => i % 2 === 1);
    expect(new Uint16Array(got.data.slice().buffer)).toEqual(want);
  });

  it("exclude_from_loading skips whole states; an unknown name fails with a suggestion", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.save(1);
    const states = toyStates(7);
    const r = await manager({ exclude_from_loading: ["dataloader", "lr_scheduler"] }, storage, states).m.load();
    expect(Object.keys(r.keys)).toEqual(["model", "optimizer", "train_state"]);
    expect(states.dataloader.loaded).toBeUndefined();
    expect(states.lr_scheduler.loaded).toBeUndefined();
    // A near miss of a standard name is refused with the configuration; other names once the states are known.
    expect(() => manager({ exclude_from_loading: ["train_stat"] }, storage)).toThrow(/did you mean 'train_state'/);
    const withEma = { ...toyStates(), ema: new Holder({ decay: 0.99 }) };
    await expectCode(
      manager({ exclude_from_loading: ["emma"] }, storage, withEma).m.load(),
      "E_CONFIG",
      "'emma'",
      "did you mean 'ema'",
    );
  });

  it("with no step: initial_load_path (model only by default), else a fresh start", async () => {
    const saved = new MemoryStorage();
    await manager({ interval: 1 }, saved, toyStates(6)).m.save(3);
    const init = new MemoryStorage(); // the step folder on its own, as initial_load_path names it
    for (const e of (await saved.list("step-3"))!) await init.writeAll(e.name, await saved.readAll(`step-3/${e.name}`));
    const states = toyStates(8);
    const opened: string[] = [];
    const m = new CheckpointManager({ checkpoint: { enable: true, initial_load_path: "/init/step-3" } }, {
      storage: new MemoryStorage(),
      states,
      openStorage: (p) => (opened.push(p), init),
    });
    expect(await m.load()).toMatchObject({
      loaded: true,
      source: "initial_load_path",
      modelOnly: true,
      keys: { model: 3 },
    });
    expect(opened).toEqual(["/init/step-3"]);
    expect(values(states.model.loaded!.get("head.weight") as Tensor)).toEqual(values(f32([2, 3], (i) => 6 - i / 4)));
    expect(states.optimizer.loaded).toBeUndefined();
    const full = toyStates(8);
    const m2 = new CheckpointManager({
      checkpoint: { enable: true, initial_load_path: "/init/step-3", initial_load_model_only: false },
    }, {
      storage: new MemoryStorage(),
      states: full,
      openStorage: () => init,
    });
    expect((await m2.load()).keys).toMatchObject({ optimizer: 6, train_state: 2 });
    expect(await manager({}).m.load()).toMatchObject({ loaded: false, source: "fresh" });
  });

  it("a folder with a complete step wins over initial_load_path", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.save(2);
    const m = new CheckpointManager({ checkpoint: { enable: true, initial_load_path: "/nowhere" } }, {
      storage,
      states: toyStates(),
      openStorage: () => {
        throw new Error("initial_load_path must not be opened");
      },
    });
    expect(await m.load()).toMatchObject({ source: "step", step: 2 });
  });

  it("an initial_load_path that is not a folder fails", async () => {
    // The host entry's manager opens a FileStorage at the path.
    const m = new HostCheckpointManager({
      checkpoint: { enable: true, initial_load_path: "/nonexistent/webdcp-manager-test" },
    }, {
      storage: new MemoryStorage(),
      states: toyStates(),
    });
    await expectCode(m.load(), "E_NOT_FOUND", "initial_load_path");
  });
});

describe("last step", () => {
  it("model-only in export_dtype: floating tensors cast, others kept, no training state", async () => {
    const { m, storage } = manager({ interval: 100, export_dtype: "bfloat16" });
    const r = await m.save(7, { last: true });
    expect(r.kind).toBe("model-only");
    const ckpt = await openDcp(storage, "step-7");
    expect(Object.fromEntries(ckpt.entries().map((e) => [e.name, e.kind === "tensor" ? e.dtype : undefined]))).toEqual({
      "embed.weight": "bfloat16",
      "head.weight": "bfloat16",
      "counts": "int64",
    });
    await ckpt.close();
  });

  it("last_save_model_only = false writes the full state uncast", async () => {
    const { m, storage } = manager({ interval: 100, last_save_model_only: false, export_dtype: "bfloat16" });
    expect((await m.save(7, { last: true })).kind).toBe("full");
    const ckpt = await openDcp(storage, "step-7");
    expect(ckpt.entries().find((e) => e.name === "embed.weight")).toMatchObject({ dtype: "float32" });
    expect(ckpt.entries()).toHaveLength(14);
    await ckpt.close();
  });
});

describe("keep_latest_k", () => {
  it("keeps the newest k steps", async () => {
    const { m, storage } = manager({ interval: 1, keep_latest_k: 2 });
    for (let s = 1; s <= 5; s++) await m.save(s);
    await m.close();
    expect(await stepNames(storage)).toEqual(["step-4", "step-5"]);
  });

  it("never removes the newest complete step, even when newer unfinished ones outnumber k", async () => {
    const storage = new MemoryStorage();
    const { m } = manager({ interval: 1, keep_latest_k: 2 }, storage);
    await m.save(1);
    await storage.writeAll("step-8/__0_0.distcp", Uint8Array.of(1)); // unfinished saves of a crashed run
    await storage.writeAll("step-9/__0_0.distcp", Uint8Array.of(1));
    await m.save(2);
    await m.close();
    // TorchTitan would keep step-8 and step-9 only, neither loadable.
    expect(await stepNames(storage)).toEqual(["step-2", "step-8", "step-9"]);
  });

  it("never removes a step being written, though it is older than k others", async () => {
    const storage = new MemoryStorage();
    for (const s of [7, 8]) await storage.writeAll(`step-${s}/__0_0.distcp`, Uint8Array.of(1)); // a crashed run's
    // The purge after step 1 lists the folder only once step 2's write has started.
    let step2Started!: () => void;
    const started = new Promise<void>((r) => (step2Started = r));
    const gated = new Proxy(storage, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop === "list") return async (d: string) => (d === "" && await started, target.list(d));
        if (prop === "create") return (p: string) => (p.startsWith("step-2/") && step2Started(), target.create(p));
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { m } = manager({ interval: 1, keep_latest_k: 2, async_mode: "async" }, gated as MemoryStorage);
    await m.save(1);
    await m.wait();
    await (await m.save(2)).done;
    await m.close();
    // Step 1 goes once step 2 is complete; step 2 was never touched while being written.
    expect(await stepNames(storage)).toEqual(["step-2", "step-7", "step-8"]);
    expect(m.warnings).toEqual([]);
  });
});

describe("async saves", () => {
  it("async writes a snapshot: changes after save() returns are not in the step", async () => {
    const { m, storage, states } = manager({ interval: 1, async_mode: "async" });
    const r = await m.save(1);
    const w = states.model.sd["embed.weight" as never] as Tensor;
    w.data.fill(0);
    const times = await r.done;
    expect(times.backgroundMs).toBeGreaterThanOrEqual(0);
    expect(r.blockingMs).toBeGreaterThanOrEqual(0);
    const ckpt = await openDcp(storage, "step-1");
    expect(values(await ckpt.readTensor("embed.weight"))).toEqual(values(f32([4, 3], (i) => 1 + i / 8)));
    await ckpt.close();
  });

  it("async_with_pinned_mem reuses its staging buffers: steady-state saves allocate nothing", async () => {
    const { m } = manager({ interval: 1, async_mode: "async_with_pinned_mem", keep_latest_k: 0 });
    await m.save(1);
    const first = m.stagingAllocations;
    expect(first).toBe(7); // 6 tensors and the dataloader's bytes
    for (let s = 2; s <= 5; s++) await m.save(s);
    await m.close();
    expect(m.stagingAllocations).toBe(first);
  });

  it("async_with_pinned_mem copies host tensors after save() returns: a change before maybeWaitForStaging() reaches the step, one after it does not", async () => {
    const { m, storage, states } = manager({ interval: 1, async_mode: "async_with_pinned_mem", keep_latest_k: 0 });
    const w = states.model.sd["embed.weight" as never] as Tensor;
    const r = await m.save(1);
    w.data.fill(0); // before the snapshot is taken: TorchTitan's contract says wait first
    await m.maybeWaitForStaging();
    const head = states.model.sd["head.weight" as never] as Tensor;
    const before = values(head);
    head.data.fill(0); // the optimizer step, after the wait
    const times = await r.done;
    expect(times.blockingMs).toBeGreaterThanOrEqual(r.blockingMs);
    await m.maybeWaitForStaging(); // nothing staging: at once
    const ckpt = await openDcp(storage, "step-1");
    expect(values(await ckpt.readTensor("embed.weight"))).toEqual(new Array(12).fill(0));
    expect(values(await ckpt.readTensor("head.weight"))).toEqual(before);
    await ckpt.close();
    await m.close();
  });

  it("async_with_pinned_mem prepares its staging buffers in the background after maybeLoad(): the first save allocates none", async () => {
    const { m, storage, states } = manager({ interval: 1, async_mode: "async_with_pinned_mem", keep_latest_k: 0 });
    await m.maybeLoad(); // a fresh start
    expect(m.stagingAllocations).toBe(0); // nothing before the event loop turns
    await new Promise((resolve) => setTimeout(resolve, 20)); // the program's first training step
    expect(m.stagingAllocations).toBe(7); // 6 tensors and the dataloader's bytes
    const w = states.model.sd["embed.weight" as never] as Tensor;
    const before = values(w);
    await m.save(1);
    await m.maybeWaitForStaging();
    await m.close();
    expect(m.stagingAllocations).toBe(7);
    const ckpt = await openDcp(storage, "step-1");
    expect(values(await ckpt.readTensor("embed.weight"))).toEqual(before);
    expect(await ckpt.readValue("dataloader.dp_rank_0")).toEqual(Uint8Array.of(0x80, 0x04, 1));
    await ckpt.close();
  });

  it("async_with_pinned_mem: a save right after maybeLoad(), states answering late, holds every byte of the state", async () => {
    const states = toyStates();
    // 32 MiB with no zero byte: preparing it takes several turns of the event loop, and a page touched
    // after its copy would show.
    const big = new Uint8Array(32 << 20).map((_, i) => 1 + (i % 251));
    states.model.sd["big.weight" as never] = { dtype: "uint8", shape: [big.length], data: big } as never;
    const late = (h: Holder) => ({
      stateDict: () => new Promise<StateDict>((resolve) => setTimeout(() => resolve(h.stateDict()), 3)),
      loadStateDict: (sd: Map<string, unknown>) => h.loadStateDict(sd),
    });
    const storage = new MemoryStorage();
    const m = new CheckpointManager({
      checkpoint: { enable: true, interval: 1, async_mode: "async_with_pinned_mem" },
    }, { storage, states: { model: late(states.model), dataloader: late(states.dataloader) } });
    await m.maybeLoad();
    await m.save(1); // while the buffers are being prepared
    await m.maybeWaitForStaging();
    await m.close();
    const ckpt = await openDcp(storage, "step-1");
    for (const name of ["embed.weight", "head.weight", "counts", "big.weight"]) {
      const [got, want] = [(await ckpt.readTensor(name)).data, (states.model.sd[name as never] as Tensor).data];
      expect(Buffer.compare(got, want), name).toBe(0); // (a deep equal of 32 MiB takes GiBs)
    }
    expect(await ckpt.readValue("dataloader.dp_rank_0")).toEqual(Uint8Array.of(0x80, 0x04, 1));
    await ckpt.close();
  });

  it("async_with_pinned_mem: a staging stopped by the signal throws from maybeWaitForStaging() once and commits nothing", async () => {
    const storage = new MemoryStorage();
    const abort = new AbortController();
    const m = new CheckpointManager({
      checkpoint: { enable: true, interval: 1, async_mode: "async_with_pinned_mem" },
    }, { storage, states: toyStates(), signal: abort.signal });
    const r = await m.save(1);
    abort.abort(new Error("stopped by the test"));
    await expect(m.maybeWaitForStaging()).rejects.toThrow("stopped by the test");
    await m.wait(); // reported once
    await expect(r.done).rejects.toThrow("stopped by the test");
    await m.close();
    expect(await stepNames(storage)).toEqual([]);
  });

  it("async reuses the written snapshot's buffers: steady-state saves allocate nothing, each step holds its own state", async () => {
    const { m, storage, states } = manager({ interval: 1, async_mode: "async", keep_latest_k: 0 });
    const w = states.model.sd["embed.weight" as never] as Tensor;
    await m.save(1);
    const first = m.stagingAllocations;
    expect(first).toBe(7); // 6 tensors and the dataloader's bytes
    for (let s = 2; s <= 4; s++) {
      new Float32Array(w.data.buffer, w.data.byteOffset, 12).fill(s); // the training step after save s - 1
      const r = await m.save(s);
      w.data.fill(0); // a change while step s is written must not reach it
      await r.done;
    }
    await m.close();
    expect(m.stagingAllocations).toBe(first);
    for (let s = 2; s <= 4; s++) {
      const ckpt = await openDcp(storage, `step-${s}`);
      expect(values(await ckpt.readTensor("embed.weight"))).toEqual(new Array(12).fill(s));
      await ckpt.close();
    }
  });

  it("async allocates only for sizes the written snapshot did not have", async () => {
    const { m, storage, states } = manager({ interval: 1, async_mode: "async", keep_latest_k: 0 });
    await m.save(1);
    await m.wait();
    const first = m.stagingAllocations;
    // The head grows from 2 x 3 to 5 x 3: one new buffer (the old 24-byte one is left over).
    states.model.sd["head.weight" as never] = f32([5, 3], (i) => i) as never;
    await (await m.save(2)).done;
    expect(m.stagingAllocations).toBe(first + 1);
    await (await m.save(3)).done;
    expect(m.stagingAllocations).toBe(first + 1);
    await m.close();
    const ckpt = await openDcp(storage, "step-3");
    expect(values(await ckpt.readTensor("head.weight"))).toEqual(values(f32([5, 3], (i) => i)));
    await ckpt.close();
  });

  it("a failed background write surfaces in wait(), the next save and close()", async () => {
    const storage = new MemoryStorage();
    let fail = false;
    const broken = new Proxy(storage, {
      get(target, prop, receiver) {
        if (prop === "writeAll" && fail) return () => Promise.reject(new WebdcpError("E_IO", "disk full"));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { m } = manager({ interval: 1, async_mode: "async" }, broken as MemoryStorage);
    fail = true;
    await m.save(1);
    await expectCode(m.wait(), "E_IO", "disk full");
    await m.wait(); // reported once
    fail = true;
    await m.save(2);
    await expectCode(m.save(3), "E_IO");
    fail = true;
    await m.save(4);
    await expectCode(m.close(), "E_IO");
  });
});

describe("progress and cancellation", () => {
  it("onProgress reports every item written and each state loaded", async () => {
    const storage = new MemoryStorage();
    const events: { phase: string; itemsDone: number; itemsTotal: number }[] = [];
    const m = new CheckpointManager({ checkpoint: { enable: true, interval: 1 } }, {
      storage,
      states: toyStates(),
      onProgress: (p) => events.push(p),
    });
    await m.save(1);
    const writes = events.filter((e) => e.phase === "write");
    expect(writes.at(-1)).toMatchObject({ itemsDone: 14, itemsTotal: 14 });
    await m.load();
    expect(events.filter((e) => e.phase === "load").map((e) => e.itemsDone)).toEqual([1, 2, 3, 4, 5]);
  });

  it("an aborted signal stops save() and load() before they write or load anything", async () => {
    const storage = new MemoryStorage();
    await manager({ interval: 1 }, storage).m.save(1);
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const states = toyStates(4);
    const m = new CheckpointManager({ checkpoint: { enable: true, interval: 1 } }, {
      storage,
      states,
      signal: controller.signal,
    });
    await expect(m.save(2)).rejects.toThrow("stop");
    await expect(m.load()).rejects.toThrow("stop");
    expect(await stepNames(storage)).toEqual(["step-1"]);
    expect(states.model.loaded).toBeUndefined();
  });
});

describe("construction", () => {
  it("last_save_in_hf without an adapter is refused before any work", () => {
    expect(() =>
      new CheckpointManager({ checkpoint: { enable: true, last_save_in_hf: true } }, {
        storage: new MemoryStorage(),
        states: toyStates(),
      })
    )
      .toThrow(/last_save_in_hf.*adapter/);
  });

  it("a model key that collides with a state name is refused", async () => {
    const states = toyStates();
    (states.model.sd as Record<string, unknown>).optimizer = f32([1], () => 0);
    await expectCode(manager({ interval: 1 }, new MemoryStorage(), states).m.save(1), "E_USAGE", "collides");
    expect(new Holder({})).toBeDefined();
  });
});
