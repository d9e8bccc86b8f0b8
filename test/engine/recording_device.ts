import type { GpuContext, GpuLimits } from "../../src/engine/mod.ts";

/**
 * A device fixture that records what the engine asks of WebGPU (buffers, uploads, bindings, dispatches,
 * copies) and executes none of it: readbacks return zeros. It checks the upload plan where no GPU runs;
 * the real-adapter tests check the results.
 */
export interface Recording {
  buffers: Array<{ id: number; size: number; usage: number }>;
  writes: Array<{ buffer: number; offset: number; size: number }>;
  bindings: Array<{ binding: number; buffer: number; offset: number; size: number }[]>;
  dispatches: Array<[number, number]>;
  submits: number;
  /** Largest number of submitted command buffers whose readback had not been mapped yet. */
  maxInFlight: number;
}

const USAGE = {
  MAP_READ: 1,
  MAP_WRITE: 2,
  COPY_SRC: 4,
  COPY_DST: 8,
  INDEX: 16,
  VERTEX: 32,
  UNIFORM: 64,
  STORAGE: 128,
  INDIRECT: 256,
  QUERY_RESOLVE: 512,
};

export function recordingContext(limits: GpuLimits): { context: GpuContext; recording: Recording } {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= USAGE;
  g.GPUMapMode ??= { READ: 1, WRITE: 2 };
  const recording: Recording = { buffers: [], writes: [], bindings: [], dispatches: [], submits: 0, maxInFlight: 0 };
  let inFlight = 0;
  let nextId = 1;
  const ids = new WeakMap<object, number>();
  const makeBuffer = (size: number, usage: number) => {
    const id = nextId++;
    let mapped = false;
    const buffer = {
      size,
      usage,
      get mapState() {
        return mapped ? "mapped" : "unmapped";
      },
      destroy() {},
      mapAsync: async () => {
        await Promise.resolve();
        inFlight--;
        mapped = true;
      },
      getMappedRange: (_offset = 0, length = size) => new ArrayBuffer(length),
      unmap: () => {
        mapped = false;
      },
    };
    ids.set(buffer, id);
    recording.buffers.push({ id, size, usage });
    return buffer;
  };
  const device = {
    limits: limits,
    lost: new Promise(() => {}),
    pushErrorScope() {},
    popErrorScope: () => Promise.resolve(null),
    createBuffer: ({ size, usage }: { size: number; usage: number }) => makeBuffer(size, usage),
    createShaderModule: () => ({}),
    createComputePipeline: () => ({ getBindGroupLayout: () => ({}) }),
    createBindGroup: (
      { entries }: {
        entries: Array<{ binding: number; resource: { buffer: object; offset?: number; size?: number } }>;
      },
    ) => {
      recording.bindings.push(entries.map((e) => ({
        binding: e.binding,
        buffer: ids.get(e.resource.buffer)!,
        offset: e.resource.offset ?? 0,
        size: e.resource.size ?? (e.resource.buffer as { size: number }).size,
      })));
      return {};
    },
    createCommandEncoder: () => {
      let reads = 0;
      return {
        beginComputePass: () => ({
          setPipeline() {},
          setBindGroup() {},
          dispatchWorkgroups: (x: number, y = 1) => recording.dispatches.push([x, y]),
          end() {},
        }),
        copyBufferToBuffer: () => reads++,
        finish: () => ({ reads }),
      };
    },
    queue: {
      writeBuffer: (buffer: object, offset: number, data: ArrayBufferView, _dataOffset = 0, size?: number) =>
        recording.writes.push({ buffer: ids.get(buffer)!, offset, size: size ?? data.byteLength }),
      submit: (buffers: Array<{ reads: number }>) => {
        recording.submits++;
        for (const b of buffers) inFlight += b.reads;
        recording.maxInFlight = Math.max(recording.maxInFlight, inFlight);
      },
      onSubmittedWorkDone: () => Promise.resolve(),
    },
  };
  const context: GpuContext = {
    device: device as unknown as GPUDevice,
    limits,
    adapterName: "recording",
    isFallbackAdapter: true,
  };
  return { context, recording };
}
