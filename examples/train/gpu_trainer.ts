/**
 * The example's training step on WebGPU: the same MLP, MSE loss and AdamW as mlp.ts / adamw.ts, as WGSL
 * kernels over buffers that stay on the GPU. Parameters and Adam moments are checkpointed straight from
 * their buffers (`GpuStateTensor`: the manager reads them back with copyBufferToBuffer + mapAsync). Every
 * thread sums in a fixed order and nothing uses atomics, so a run on one adapter is deterministic and a
 * resumed run ends bit for bit where an uninterrupted one does (on that adapter; the GPU's float rounding
 * is not the CPU path's).
 */
import { GpuStateTensor, PyFloat, type StateDict, type Stateful, type Tensor, tuple } from "../../mod.ts";
import type { AdamWOptions } from "./adamw.ts";
import { initParams, type MlpShape, PARAM_NAMES, paramShapes } from "./mlp.ts";

const WGSL = /* wgsl */ `
struct Dims { batch: u32, inputs: u32, hidden: u32, outputs: u32 }
@group(0) @binding(0) var<uniform> d: Dims;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// Parameters and gradients are packed: w1 | b1 | w2 | b2 (8 storage buffers per stage is WebGPU's floor).
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> dout: array<f32>;
@group(0) @binding(6) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(7) var<storage, read_write> g: array<f32>;

fn w1(k: u32) -> f32 { return p[k]; }
fn b1(j: u32) -> f32 { return p[d.hidden * d.inputs + j]; }
fn w2(k: u32) -> f32 { return p[d.hidden * d.inputs + d.hidden + k]; }
fn b2(o: u32) -> f32 { return p[d.hidden * d.inputs + d.hidden + d.outputs * d.hidden + o]; }

@compute @workgroup_size(64) fn hidden_fwd(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x; if (n >= d.batch * d.hidden) { return; }
  let b = n / d.hidden; let j = n % d.hidden;
  var acc = b1(j);
  for (var i = 0u; i < d.inputs; i++) { acc += w1(j * d.inputs + i) * x[b * d.inputs + i]; }
  h[n] = tanh(acc);
}
@compute @workgroup_size(64) fn out_fwd(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x; if (n >= d.batch * d.outputs) { return; }
  let b = n / d.outputs; let o = n % d.outputs;
  var acc = b2(o);
  for (var j = 0u; j < d.hidden; j++) { acc += w2(o * d.hidden + j) * h[b * d.hidden + j]; }
  dout[n] = 2.0 * (acc - y[n]) / f32(d.batch * d.outputs); // dLoss/dout of the mean squared error
  y[n] = acc; // the prediction, for the loss the host reports
}
@compute @workgroup_size(64) fn hidden_bwd(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x; if (n >= d.batch * d.hidden) { return; }
  let b = n / d.hidden; let j = n % d.hidden;
  var acc = 0.0;
  for (var o = 0u; o < d.outputs; o++) { acc += dout[b * d.outputs + o] * w2(o * d.hidden + j); }
  dpre[n] = acc * (1.0 - h[n] * h[n]);
}
@compute @workgroup_size(64) fn grads(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x;
  let n1 = d.hidden * d.inputs; let n2 = n1 + d.hidden; let n3 = n2 + d.outputs * d.hidden; let n4 = n3 + d.outputs;
  if (n >= n4) { return; }
  var acc = 0.0;
  if (n < n1) {
    let j = n / d.inputs; let i = n % d.inputs;
    for (var b = 0u; b < d.batch; b++) { acc += dpre[b * d.hidden + j] * x[b * d.inputs + i]; }
  } else if (n < n2) {
    for (var b = 0u; b < d.batch; b++) { acc += dpre[b * d.hidden + n - n1]; }
  } else if (n < n3) {
    let o = (n - n2) / d.hidden; let j = (n - n2) % d.hidden;
    for (var b = 0u; b < d.batch; b++) { acc += dout[b * d.outputs + o] * h[b * d.hidden + j]; }
  } else {
    for (var b = 0u; b < d.batch; b++) { acc += dout[b * d.outputs + n - n3]; }
  }
  g[n] = acc;
}

struct Adam { lr: f32, beta1: f32, beta2: f32, eps: f32, decay: f32, c1: f32, c2sqrt: f32, count: u32 }
@group(1) @binding(0) var<uniform> a: Adam;
@group(1) @binding(1) var<storage, read_write> mv: array<f32>; // exp_avg | exp_avg_sq
// Every parameter at once: they share the step count and the learning rate.
@compute @workgroup_size(64) fn adamw(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x; if (i >= a.count) { return; }
  let gi = g[i];
  let pi = p[i] * a.decay;
  let m = a.beta1 * mv[i] + (1.0 - a.beta1) * gi;
  let v = a.beta2 * mv[a.count + i] + (1.0 - a.beta2) * gi * gi;
  mv[i] = m;
  mv[a.count + i] = v;
  p[i] = pi - (a.lr / a.c1) * (m / (sqrt(v) / a.c2sqrt + a.eps));
}
`;

const U = () => GPUBufferUsage;
type Name = typeof PARAM_NAMES[number];

export class GpuTrainer {
  readonly model: Stateful;
  readonly optimizer: Stateful;
  lr: number;
  #steps = 0;
  readonly #count: number;
  readonly #x: GPUBuffer;
  readonly #y: GPUBuffer;
  readonly #read: GPUBuffer;
  readonly #adamUniform: GPUBuffer;
  readonly #pipelines: Record<"hidden_fwd" | "out_fwd" | "hidden_bwd" | "grads" | "adamw", GPUComputePipeline>;
  readonly #groups: [GPUBindGroup, GPUBindGroup];

  constructor(
    readonly device: GPUDevice,
    readonly shape: MlpShape,
    readonly batch: number,
    readonly opts: AdamWOptions,
  ) {
    this.lr = opts.lr;
    const shapes = paramShapes(shape);
    const init = initParams(shape);
    const storage = (bytes: number) =>
      device.createBuffer({ size: Math.max(16, bytes), usage: U().STORAGE | U().COPY_SRC | U().COPY_DST });
    // Each parameter's place in the packed buffers, in elements.
    const offsets = new Map<Name, number>();
    let count = 0;
    for (const n of PARAM_NAMES) {
      offsets.set(n, count);
      count += init[n].length;
    }
    this.#count = count;
    const params = storage(count * 4), moments = storage(count * 8), g = storage(count * 4);
    for (const n of PARAM_NAMES) device.queue.writeBuffer(params, offsets.get(n)! * 4, init[n]);
    this.#x = storage(batch * shape.inputs * 4);
    this.#y = storage(batch * shape.outputs * 4);
    this.#read = device.createBuffer({
      size: Math.max(16, batch * shape.outputs * 4),
      usage: U().MAP_READ | U().COPY_DST,
    });
    const h = storage(batch * shape.hidden * 4),
      dout = storage(batch * shape.outputs * 4),
      dpre = storage(batch * shape.hidden * 4);
    const dims = device.createBuffer({ size: 16, usage: U().UNIFORM | U().COPY_DST });
    device.queue.writeBuffer(dims, 0, Uint32Array.of(batch, shape.inputs, shape.hidden, shape.outputs));
    this.#adamUniform = device.createBuffer({ size: 32, usage: U().UNIFORM | U().COPY_DST });

    const module = device.createShaderModule({ code: WGSL });
    const entry = (binding: number, type: GPUBufferBindingType) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    });
    const mlpLayout = device.createBindGroupLayout({
      entries: [entry(0, "uniform"), ...[1, 2, 3, 4, 5, 6, 7].map((b) => entry(b, "storage"))],
    });
    const adamLayout = device.createBindGroupLayout({ entries: [entry(0, "uniform"), entry(1, "storage")] });
    // One layout for every kernel: "auto" layouts would each hold only the bindings their kernel uses.
    const layout = device.createPipelineLayout({ bindGroupLayouts: [mlpLayout, adamLayout] });
    const pipeline = (entryPoint: string) => device.createComputePipeline({ layout, compute: { module, entryPoint } });
    this.#pipelines = {
      hidden_fwd: pipeline("hidden_fwd"),
      out_fwd: pipeline("out_fwd"),
      hidden_bwd: pipeline("hidden_bwd"),
      grads: pipeline("grads"),
      adamw: pipeline("adamw"),
    };
    const group = (l: GPUBindGroupLayout, buffers: GPUBuffer[]) =>
      device.createBindGroup({
        layout: l,
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
    this.#groups = [
      group(mlpLayout, [dims, this.#x, this.#y, params, h, dout, dpre, g]),
      group(adamLayout, [this.#adamUniform, moments]),
    ];

    // Checkpointed straight from the packed buffers: each tensor is a window of one of them.
    const at = (n: Name, second = false) => (offsets.get(n)! + (second ? count : 0)) * 4;
    const tensorOf = (buffer: GPUBuffer, n: Name, second = false) =>
      new GpuStateTensor(device, buffer, "float32", shapes[n], at(n, second));
    const upload = (buffer: GPUBuffer, n: Name, t: Tensor, second = false) =>
      device.queue.writeBuffer(buffer, at(n, second), t.data);
    this.model = {
      stateDict: () => Object.fromEntries(PARAM_NAMES.map((n) => [n, tensorOf(params, n)])),
      loadStateDict: (sd) => {
        for (const n of PARAM_NAMES) upload(params, n, sd.get(n) as Tensor);
      },
    };
    this.optimizer = {
      stateDict: (): StateDict => {
        const sd: Record<string, unknown> = {};
        for (const n of PARAM_NAMES) {
          sd[`state.${n}.step`] = {
            dtype: "float32",
            shape: [],
            data: new Uint8Array(Float32Array.of(this.#steps).buffer),
          };
          sd[`state.${n}.exp_avg`] = tensorOf(moments, n);
          sd[`state.${n}.exp_avg_sq`] = tensorOf(moments, n, true);
        }
        for (const n of PARAM_NAMES) {
          sd[`param_groups.${n}.lr`] = new PyFloat(this.lr);
          sd[`param_groups.${n}.betas`] = tuple(new PyFloat(opts.betas[0]), new PyFloat(opts.betas[1]));
          sd[`param_groups.${n}.eps`] = new PyFloat(opts.eps);
          sd[`param_groups.${n}.weight_decay`] = new PyFloat(opts.weightDecay);
        }
        return sd;
      },
      loadStateDict: (sd) => {
        this.#steps = new Float32Array((sd.get(`state.${PARAM_NAMES[0]}.step`) as Tensor).data.slice().buffer)[0];
        for (const n of PARAM_NAMES) {
          upload(moments, n, sd.get(`state.${n}.exp_avg`) as Tensor);
          upload(moments, n, sd.get(`state.${n}.exp_avg_sq`) as Tensor, true);
        }
      },
    };
  }

  /** One step on a batch; returns the loss (mean squared error of the predictions before the update). */
  async step(x: Float32Array, y: Float32Array): Promise<number> {
    const { device, shape, batch, opts } = this;
    device.queue.writeBuffer(this.#x, 0, x);
    device.queue.writeBuffer(this.#y, 0, y);
    this.#steps += 1;
    const [b1, b2] = opts.betas;
    const uniform = new Float32Array(8);
    uniform.set([
      this.lr,
      b1,
      b2,
      opts.eps,
      1 - this.lr * opts.weightDecay,
      1 - b1 ** this.#steps,
      Math.sqrt(1 - b2 ** this.#steps),
    ]);
    new Uint32Array(uniform.buffer)[7] = this.#count;
    device.queue.writeBuffer(this.#adamUniform, 0, uniform);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setBindGroup(0, this.#groups[0]);
    pass.setBindGroup(1, this.#groups[1]);
    const run = (p: GPUComputePipeline, threads: number) => {
      pass.setPipeline(p);
      pass.dispatchWorkgroups(Math.ceil(threads / 64));
    };
    run(this.#pipelines.hidden_fwd, batch * shape.hidden);
    run(this.#pipelines.out_fwd, batch * shape.outputs);
    run(this.#pipelines.hidden_bwd, batch * shape.hidden);
    run(this.#pipelines.grads, this.#count);
    run(this.#pipelines.adamw, this.#count);
    pass.end();
    enc.copyBufferToBuffer(this.#y, 0, this.#read, 0, batch * shape.outputs * 4);
    device.queue.submit([enc.finish()]);
    await this.#read.mapAsync(GPUMapMode.READ);
    const pred = new Float32Array(this.#read.getMappedRange().slice(0));
    this.#read.unmap();
    let loss = 0;
    for (let i = 0; i < pred.length; i++) loss += (pred[i] - y[i]) ** 2;
    return loss / pred.length;
  }
}
