/** Small real states for manager tests: tensors of known values behind the `Stateful` interface. */
import type { StateDict } from "../../src/dcp/mod.ts";
import type { Stateful } from "../../src/manager/mod.ts";
import { tuple } from "../../src/pickle/value.ts";
import type { Tensor } from "../../src/tensor/mod.ts";

export function f32(shape: number[], fill: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = fill(i);
  return { dtype: "float32", shape, data: new Uint8Array(a.buffer) };
}

export function values(t: Tensor): number[] {
  if (t.dtype === "float32") return [...new Float32Array(t.data.slice().buffer)];
  if (t.dtype === "int64") return [...new BigInt64Array(t.data.slice().buffer)].map(Number);
  throw new Error(`values() of ${t.dtype}`);
}

/** A state that gives what it holds and keeps what it is given. */
export class Holder implements Stateful {
  loaded?: Map<string, unknown>;
  constructor(public sd: StateDict) {}
  stateDict(): StateDict {
    return this.sd;
  }
  loadStateDict(sd: Map<string, unknown>): void {
    this.loaded = sd;
  }
}

/** A model of two float tensors and an int64 buffer, an AdamW-like optimizer in TorchTitan's flat form, and the rest. */
export function toyStates(seed = 1) {
  const model = new Holder({
    "embed.weight": f32([4, 3], (i) => seed + i / 8),
    "head.weight": f32([2, 3], (i) => seed - i / 4),
    "counts": { dtype: "int64", shape: [2], data: new Uint8Array(new BigInt64Array([3n, 4n]).buffer) } as Tensor,
  });
  const optimizer = new Holder({
    "state.embed.weight.step": f32([], () => seed),
    "state.embed.weight.exp_avg": f32([4, 3], (i) => i * seed),
    "state.embed.weight.exp_avg_sq": f32([4, 3], (i) => i * i),
    "param_groups.embed.weight.lr": 0.0008,
    "param_groups.embed.weight.betas": tuple(0.9, 0.95),
    "param_groups.embed.weight.params": ["embed.weight"],
  });
  const lr_scheduler = new Holder({ last_epoch: seed });
  const dataloader = new Holder({ dp_rank_0: Uint8Array.of(0x80, 0x04, seed), world_size: 1 });
  const train_state = new Holder({ step: seed, ntokens_seen: seed * 100 });
  return { model, optimizer, lr_scheduler, dataloader, train_state };
}
