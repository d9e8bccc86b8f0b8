/**
 * Model loading straight into GPU buffers (browsers, edge inference preloading): every selected tensor of a
 * checkpoint (DCP, HF folder, safetensors, torch.save) becomes one `GPUBuffer`, optionally cast on the GPU.
 * Tensors stream in bands of dim-0 rows, so host memory stays near one band whatever the model size.
 */
import { type ProgressCallback, ProgressTracker } from "../tasks/mod.ts";
import type { TensorEntry, TensorSource } from "../source/mod.ts";
import { canConvert, type DType, DTYPE_INFO, itemsize } from "../dtype/mod.ts";
import { GpuError, UsageError } from "../errors/mod.ts";
import type { Engine, GpuEngine } from "../engine/mod.ts";
import { numel } from "../tensor/mod.ts";

/** A tensor loaded into a GPU buffer. */
export interface GpuTensor {
  /** The tensor's name in the source. */
  name: string;
  /** Its dtype in the buffer. */
  dtype: DType;
  /** Its shape. */
  shape: number[];
  /** Holds `byteLength` bytes of row-major data, padded to a multiple of 4. */
  buffer: GPUBuffer;
  /** Bytes of tensor data in the buffer (the buffer may be padded to 4 bytes). */
  byteLength: number;
}

/** Options of `loadToGpu`. */
export interface LoadToGpuOptions {
  /**
   * Where casts run. A GPU engine casts on its device, which also receives the buffers; the CPU twin casts
   * on the host (same bits) and `device` receives the buffers.
   */
  engine: Engine;
  /** The device that owns the buffers; required with a CPU engine, must be the engine's own with a GPU one. */
  device?: GPUDevice;
  /** Cast floating tensors to this dtype on the GPU (others keep their dtype). */
  dtype?: DType;
  /** Which tensors to load (default: all). */
  filter?: (name: string) => boolean;
  /** Source bytes read per band (default 64 MiB). */
  bandBytes?: number;
  /** Called as tensor bytes are uploaded. */
  onProgress?: ProgressCallback;
}

const DEFAULT_BAND_BYTES = 64 * 1024 * 1024;
const U = () => GPUBufferUsage;

/** Streams the tensors of a source into GPU buffers of the engine's device, band by band. */
export async function loadToGpu(source: TensorSource, opts: LoadToGpuOptions): Promise<Map<string, GpuTensor>> {
  const engine = opts.engine;
  const device = deviceFor(engine, opts.device);
  const tensors = source.entries.filter((e): e is TensorEntry =>
    e.kind === "tensor" && (opts.filter?.(e.name) ?? true)
  );
  const progress = new ProgressTracker(tensors.reduce((s, t) => s + t.bytes, 0), tensors.length, opts.onProgress);
  const loaded = new Map<string, GpuTensor>();
  try {
    for (const entry of tensors) {
      const to = targetDType(entry.dtype, opts.dtype);
      const byteLength = numel(entry.shape) * itemsize(to);
      const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
      if (size > device.limits.maxBufferSize) {
        throw new GpuError(
          "E_UNSUPPORTED",
          `${entry.name} needs a ${size}-byte buffer; this device allows ${device.limits.maxBufferSize}`,
          { path: source.path },
        );
      }
      const buffer = device.createBuffer({ size, usage: U().STORAGE | U().COPY_DST | U().COPY_SRC });
      loaded.set(entry.name, { name: entry.name, dtype: to, shape: [...entry.shape], buffer, byteLength });
      const target = { device, buffer, engine };
      await uploadBands(source, entry, to, target, opts.bandBytes ?? DEFAULT_BAND_BYTES, progress);
      progress.fileDone(entry.name);
    }
    await device.queue.onSubmittedWorkDone();
    return loaded;
  } catch (error) {
    for (const t of loaded.values()) t.buffer.destroy();
    throw error;
  }
}

function deviceFor(engine: Engine, device: GPUDevice | undefined): GPUDevice {
  const own = engine.kind === "gpu" && "context" in engine ? (engine as GpuEngine).context.device : undefined;
  if (own && device && device !== own) {
    throw new UsageError("E_USAGE", "a GPU engine loads into its own device; pass no other device");
  }
  const chosen = own ?? device;
  if (!chosen) {
    throw new UsageError("E_USAGE", "loading with a CPU engine needs the GPUDevice that receives the buffers");
  }
  return chosen;
}

/** Where bands land: a buffer on a device, with the engine that casts them. */
interface UploadTarget {
  device: GPUDevice;
  buffer: GPUBuffer;
  engine: Engine;
}

function targetDType(stored: DType, wanted: DType | undefined): DType {
  if (wanted === undefined || wanted === stored || !DTYPE_INFO[stored].floating) return stored;
  if (!canConvert(stored, wanted)) throw new UsageError("E_UNSUPPORTED", `cannot cast ${stored} to ${wanted}`);
  return wanted;
}

/**
 * Rows per band: within the byte budget, and a multiple of what keeps every band's output offset on a
 * 4-byte boundary (GPU copies and writes need it).
 */
function rowsPerBand(rowInBytes: number, rowOutBytes: number, rows: number, bandBytes: number): number {
  let step = 1;
  while ((step * rowOutBytes) % 4 !== 0) step++;
  const budgetRows = Math.max(step, Math.floor(bandBytes / Math.max(1, rowInBytes) / step) * step);
  return Math.min(rows, budgetRows);
}

async function uploadBands(
  source: TensorSource,
  entry: TensorEntry,
  to: DType,
  target: UploadTarget,
  bandBytes: number,
  progress: ProgressTracker,
): Promise<void> {
  const shape = entry.shape;
  if (shape.length === 0 || numel(shape) === 0) {
    const whole = await source.readTensor(entry.name);
    await place(whole.data, entry.dtype, to, target, 0);
    progress.add(whole.data.byteLength, entry.name);
    return;
  }
  const rowElements = numel(shape.slice(1));
  const rows = rowsPerBand(rowElements * itemsize(entry.dtype), rowElements * itemsize(to), shape[0], bandBytes);
  for (let first = 0; first < shape[0]; first += rows) {
    const count = Math.min(rows, shape[0] - first);
    const band = await source.readTensor(entry.name, {
      offsets: shape.map((_, d) => (d === 0 ? first : 0)),
      sizes: shape.map((s, d) => (d === 0 ? count : s)),
    });
    await place(band.data, entry.dtype, to, target, first * rowElements * itemsize(to));
    progress.add(band.data.byteLength, entry.name);
  }
}

/** Writes `data` (elements of `from`) into the target buffer at `offset` as elements of `to`. */
async function place(data: Uint8Array, from: DType, to: DType, target: UploadTarget, offset: number): Promise<void> {
  const { device, buffer, engine } = target;
  if (from !== to && engine.convertToGpuBuffer === undefined) {
    data = await engine.convert(data, from, to);
    from = to;
  }
  if (from === to) {
    const whole = data.byteLength & ~3;
    if (whole > 0) device.queue.writeBuffer(buffer, offset, data, 0, whole);
    if (whole < data.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(data.subarray(whole));
      device.queue.writeBuffer(buffer, offset + whole, tail);
    }
    return;
  }
  const converted = await engine.convertToGpuBuffer!(data, from, to);
  const size = Math.min(converted.size, buffer.size - offset);
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(converted, 0, buffer, offset, size);
  device.queue.submit([encoder.finish()]);
  // WebGPU frees a destroyed buffer only after the submitted copy that reads it has run.
  converted.destroy();
}
