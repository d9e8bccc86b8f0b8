/**
 * The example's model: `nn.Sequential(Linear(inputs, hidden), Tanh(), Linear(hidden, outputs))` with an MSE
 * loss, forward and backward written out in float32 (every operation rounded with Math.fround), so a run
 * is a deterministic function of its inputs and a resumed run ends bit for bit where an uninterrupted one does.
 */
export interface MlpShape {
  inputs: number;
  hidden: number;
  outputs: number;
}

/** Parameters under the names torch's `nn.Sequential` gives them. */
export type MlpParams = Record<"0.weight" | "0.bias" | "2.weight" | "2.bias", Float32Array>;

export const PARAM_NAMES = ["0.weight", "0.bias", "2.weight", "2.bias"] as const;

export function paramShapes(s: MlpShape): Record<keyof MlpParams, number[]> {
  return {
    "0.weight": [s.hidden, s.inputs],
    "0.bias": [s.hidden],
    "2.weight": [s.outputs, s.hidden],
    "2.bias": [s.outputs],
  };
}

/** A deterministic generator of float32 values in [-1, 1) (xorshift32 on a 32-bit key). */
export function uniforms(key: number, n: number): Float32Array {
  let x = (key ^ 0x9e3779b9) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = Math.fround(x / 2147483648 - 1);
  }
  return out;
}

/** The initial model: uniform in +-1/sqrt(fan_in), as torch's Linear (not its numbers). */
export function initParams(s: MlpShape): MlpParams {
  const scale = (a: Float32Array, fanIn: number) => a.map((v) => Math.fround(v / Math.sqrt(fanIn)));
  return {
    "0.weight": scale(uniforms(1, s.hidden * s.inputs), s.inputs),
    "0.bias": scale(uniforms(2, s.hidden), s.inputs),
    "2.weight": scale(uniforms(3, s.outputs * s.hidden), s.hidden),
    "2.bias": scale(uniforms(4, s.outputs), s.hidden),
  };
}

/** Batch `index` of the data set: inputs in [-1, 1) and targets sin(3 x_k + x_{k+1}) for the first outputs. */
export function batch(s: MlpShape, index: number, size: number): { x: Float32Array; y: Float32Array } {
  const x = uniforms(1000 + index, size * s.inputs);
  const y = new Float32Array(size * s.outputs);
  for (let b = 0; b < size; b++) {
    for (let o = 0; o < s.outputs; o++) {
      y[b * s.outputs + o] = Math.fround(Math.sin(3 * x[b * s.inputs + o] + x[b * s.inputs + o + 1]));
    }
  }
  return { x, y };
}

const f = Math.fround;

/** Outputs for a batch of inputs. */
export function forward(
  s: MlpShape,
  p: MlpParams,
  x: Float32Array,
  size: number,
): { h: Float32Array; out: Float32Array } {
  const h = new Float32Array(size * s.hidden);
  const out = new Float32Array(size * s.outputs);
  for (let b = 0; b < size; b++) {
    for (let j = 0; j < s.hidden; j++) {
      let acc = p["0.bias"][j];
      for (let i = 0; i < s.inputs; i++) acc = f(acc + f(p["0.weight"][j * s.inputs + i] * x[b * s.inputs + i]));
      h[b * s.hidden + j] = f(Math.tanh(acc));
    }
    for (let o = 0; o < s.outputs; o++) {
      let acc = p["2.bias"][o];
      for (let j = 0; j < s.hidden; j++) acc = f(acc + f(p["2.weight"][o * s.hidden + j] * h[b * s.hidden + j]));
      out[b * s.outputs + o] = acc;
    }
  }
  return { h, out };
}

/** Mean squared error and its gradients. */
export function lossAndGrads(
  s: MlpShape,
  p: MlpParams,
  x: Float32Array,
  y: Float32Array,
  size: number,
): { loss: number; grads: MlpParams } {
  const { h, out } = forward(s, p, x, size);
  const n = size * s.outputs;
  const g: MlpParams = {
    "0.weight": new Float32Array(p["0.weight"].length),
    "0.bias": new Float32Array(p["0.bias"].length),
    "2.weight": new Float32Array(p["2.weight"].length),
    "2.bias": new Float32Array(p["2.bias"].length),
  };
  let loss = 0;
  const dh = new Float32Array(s.hidden);
  for (let b = 0; b < size; b++) {
    dh.fill(0);
    for (let o = 0; o < s.outputs; o++) {
      const d = f(out[b * s.outputs + o] - y[b * s.outputs + o]);
      loss = f(loss + f(d * d));
      const dOut = f(f(2 * d) / n);
      g["2.bias"][o] = f(g["2.bias"][o] + dOut);
      for (let j = 0; j < s.hidden; j++) {
        g["2.weight"][o * s.hidden + j] = f(g["2.weight"][o * s.hidden + j] + f(dOut * h[b * s.hidden + j]));
        dh[j] = f(dh[j] + f(dOut * p["2.weight"][o * s.hidden + j]));
      }
    }
    for (let j = 0; j < s.hidden; j++) {
      const hv = h[b * s.hidden + j];
      const dPre = f(dh[j] * f(1 - f(hv * hv)));
      g["0.bias"][j] = f(g["0.bias"][j] + dPre);
      for (let i = 0; i < s.inputs; i++) {
        g["0.weight"][j * s.inputs + i] = f(g["0.weight"][j * s.inputs + i] + f(dPre * x[b * s.inputs + i]));
      }
    }
  }
  return { loss: f(loss / n), grads: g };
}
