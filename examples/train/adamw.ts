/**
 * AdamW as `torch.optim.AdamW` computes it (decoupled weight decay, bias-corrected moments), in float32, with
 * its state dict in TorchTitan's flattened form: `state.<param>.{step, exp_avg, exp_avg_sq}` and
 * `param_groups.<param>.<hyper-parameter>`.
 */
import { PyFloat, type StateDict, type Stateful, type Tensor, tuple } from "../../mod.ts";

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

interface Slot {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

const f = Math.fround;
const f32Tensor = (shape: number[], a: Float32Array): Tensor => ({
  dtype: "float32",
  shape,
  data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
});

export class AdamW implements Stateful {
  lr: number;
  readonly #slots = new Map<string, Slot>();

  constructor(
    readonly params: Record<string, Float32Array>,
    readonly shapes: Record<string, number[]>,
    readonly opts: AdamWOptions,
  ) {
    this.lr = opts.lr;
    for (const [name, p] of Object.entries(params)) {
      this.#slots.set(name, { step: 0, expAvg: new Float32Array(p.length), expAvgSq: new Float32Array(p.length) });
    }
  }

  step(grads: Record<string, Float32Array>): void {
    const [b1, b2] = this.opts.betas;
    for (const [name, p] of Object.entries(this.params)) {
      const s = this.#slots.get(name)!;
      const g = grads[name];
      s.step += 1;
      const c1 = f(1 - b1 ** s.step);
      const c2sqrt = f(Math.sqrt(f(1 - b2 ** s.step)));
      const stepSize = f(this.lr / c1);
      const decay = f(1 - f(this.lr * this.opts.weightDecay));
      for (let i = 0; i < p.length; i++) {
        p[i] = f(p[i] * decay);
        s.expAvg[i] = f(f(b1 * s.expAvg[i]) + f(f(1 - b1) * g[i]));
        s.expAvgSq[i] = f(f(b2 * s.expAvgSq[i]) + f(f(1 - b2) * f(g[i] * g[i])));
        const denom = f(f(Math.sqrt(s.expAvgSq[i]) / c2sqrt) + this.opts.eps);
        p[i] = f(p[i] - f(stepSize * f(s.expAvg[i] / denom)));
      }
    }
  }

  stateDict(): StateDict {
    const sd: Record<string, unknown> = {};
    for (const [name, s] of this.#slots) {
      sd[`state.${name}.step`] = f32Tensor([], Float32Array.of(s.step));
      sd[`state.${name}.exp_avg`] = f32Tensor(this.shapes[name], s.expAvg);
      sd[`state.${name}.exp_avg_sq`] = f32Tensor(this.shapes[name], s.expAvgSq);
    }
    for (const name of this.#slots.keys()) {
      sd[`param_groups.${name}.lr`] = new PyFloat(this.lr);
      sd[`param_groups.${name}.betas`] = tuple(new PyFloat(this.opts.betas[0]), new PyFloat(this.opts.betas[1]));
      sd[`param_groups.${name}.eps`] = new PyFloat(this.opts.eps);
      sd[`param_groups.${name}.weight_decay`] = new PyFloat(this.opts.weightDecay);
      sd[`param_groups.${name}.amsgrad`] = false;
      sd[`param_groups.${name}.maximize`] = false;
      sd[`param_groups.${name}.initial_lr`] = new PyFloat(this.opts.lr);
    }
    return sd;
  }

  loadStateDict(sd: Map<string, unknown>): void {
    const tensor = (k: string) => sd.get(k) as Tensor;
    for (const [name, s] of this.#slots) {
      s.step = new Float32Array(tensor(`state.${name}.step`).data.slice().buffer)[0];
      s.expAvg.set(new Float32Array(tensor(`state.${name}.exp_avg`).data.slice().buffer));
      s.expAvgSq.set(new Float32Array(tensor(`state.${name}.exp_avg_sq`).data.slice().buffer));
    }
  }
}
