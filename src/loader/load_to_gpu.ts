/**
 * Model loading straight into GPU buffers (browsers, edge inference preloading): every selected tensor of a
 * checkpoint (DCP, HF folder, safetensors, torch.save) becomes GPU buffers on the caller's device,
 * optionally cast. Metadata and headers come first; then every stored byte range is planned and coalesced
 * into about one long request per file, several in flight, whose bytes stream to the GPU as they arrive
 * (`writeBuffer` straight from the network's chunk; pieces to cast gather in a few reused staging buffers
 * first), so network and upload overlap and host memory stays near the staging budget whatever the
 * model's size.
 */
import { type ProgressCallback, ProgressTracker } from "../tasks/mod.ts";
import { keyFilter, type TensorEntry } from "../source/mod.ts";
import { type DType, itemsize } from "../dtype/mod.ts";
import { GpuError, UsageError } from "../errors/mod.ts";
import { acquireGpu, convertCpu, type Engine, GpuEngine } from "../engine/mod.ts";
import { streamSource } from "../storage/mod.ts";
import type { HttpStorageOptions } from "../storage/mod.ts";
import { runLimited } from "../tasks/mod.ts";
import { numel } from "../tensor/mod.ts";
import { GpuPartWriter } from "./gpu_part_writer.ts";
import { type Band, buildPlan, type LoadPlan, type Segment, type TensorPlan } from "./load_plan.ts";
import { type LoadInput, openInput } from "./open_input.ts";

/** One buffer of a loaded tensor: its dim-0 rows `[firstRow, firstRow + rows)`. */
export interface GpuTensorPart {
  /** The buffer holding the part (padded to a multiple of 4 bytes). */
  buffer: GPUBuffer;
  /** The part's first dim-0 row. */
  firstRow: number;
  /** Dim-0 rows it holds. */
  rows: number;
  /** Where the part's bytes start in the tensor's row-major bytes. */
  byteOffset: number;
  /** Bytes of the tensor it holds (before padding). */
  byteLength: number;
}

/** A tensor loaded into a GPU buffer. */
export interface GpuTensor {
  /** The tensor's name in the source. */
  name: string;
  /** Its dtype in the buffer. */
  dtype: DType;
  /** Its shape. */
  shape: number[];
  /** The first (usually only) buffer; holds `parts[0].byteLength` bytes, padded to a multiple of 4. */
  buffer: GPUBuffer;
  /** Bytes of the whole tensor (all parts). */
  byteLength: number;
  /** More than one when the tensor is larger than the device lets one buffer be (split by rows). */
  parts: GpuTensorPart[];
  /** Milliseconds from the start of the load until the tensor's last byte was queued. */
  loadMs: number;
}

/** Options of `loadToGpu`. */
export interface LoadToGpuOptions {
  /**
   * Casts run here when it is a GPU engine on the receiving device; otherwise (any other engine, or none)
   * the CPU twin casts, with the same bits.
   */
  engine?: Engine;
  /** The device that receives the buffers (default: the engine's, else one acquired, software included). */
  device?: GPUDevice;
  /** Cast floating tensors to this dtype (others keep theirs). */
  dtype?: DType;
  /** Glob patterns of tensor names to load (default: all). */
  include?: readonly string[];
  /** Glob patterns of tensor names to leave out. */
  exclude?: readonly string[];
  /** A predicate over names, applied with include/exclude. */
  filter?: (name: string) => boolean;
  /** Cancels the load: requests stop, created buffers are destroyed, the promise rejects with the reason. */
  signal?: AbortSignal;
  /** Stored bytes done of `LoadPlan.sourceBytes`, the tensor being loaded, and tensors done (`filesDone`). */
  onProgress?: ProgressCallback;
  /** Called with the plan before the first data byte moves; throwing (or aborting) stops the load there. */
  onPlan?: (plan: LoadPlan) => void | Promise<void>;
  /** Bytes per staging buffer, where pieces to cast gather (default 1 MiB). */
  stagingBytes?: number;
  /** Longest request (at least `stagingBytes`): a file's neighbouring pieces share requests up to this (default 64 MiB). */
  requestBytes?: number;
  /** Requests in flight at once, and uploads queued ahead of the GPU in staging-sized steps (default 4). */
  inFlight?: number;
  /** Cap on one GPU buffer's size, below the device's own limits (tensors above it are split). */
  maxPartBytes?: number;
  /** Options for the HttpStorage made from a URL input (fetch, headers). */
  http?: HttpStorageOptions;
  /** A cache (e.g. `OpfsCache`) whose copy of the input, when it has one, is read instead: no request. */
  cache?: { resolve(input: LoadInput): Promise<LoadInput> };
}

/** What a load cost. */
export interface LoadStats {
  /** Requests sent to the storage (metadata, headers and data), as counted by the prefetching view. */
  requests: number;
  /** Bytes received from the storage. */
  bytesFetched: number;
  /**
   * Host bytes the pipeline held at most: staging buffers and header windows (besides these, a streamed
   * request reads through the storage's own 1 MiB buffer, HTTP and OPFS alike).
   */
  peakHostBytes: number;
  /** Milliseconds the whole load took. */
  ms: number;
  /** Where casts ran. */
  castOn: "gpu" | "cpu";
  /** Whether the bytes came from the cache's copy. */
  fromCache: boolean;
}

/** The result of `loadToGpu`: the tensors in GPU buffers, with the plan and what the load cost. */
export interface GpuLoad {
  /** The device holding the buffers. */
  device: GPUDevice;
  /** The loaded tensors by name. */
  tensors: Map<string, GpuTensor>;
  /** The plan the load followed. */
  plan: LoadPlan;
  /** What the load cost. */
  stats: LoadStats;
  /** Destroys every buffer of the load. */
  destroy(): void;
}

const DEFAULT_STAGING_BYTES = 1 << 20;
/** Uploads queued between two backpressure markers. */
const QUEUE_STEP_BYTES = 4 << 20;
const DEFAULT_REQUEST_BYTES = 64 << 20;
const DEFAULT_IN_FLIGHT = 4;

/** Loads the tensors of a checkpoint (URL, storage location or open source) into GPU buffers. */
export async function loadToGpu(input: LoadInput, opts: LoadToGpuOptions = {}): Promise<GpuLoad> {
  const started = performance.now();
  const signal = opts.signal;
  signal?.throwIfAborted();
  const stagingBytes = opts.stagingBytes ?? DEFAULT_STAGING_BYTES;
  const inFlight = opts.inFlight ?? DEFAULT_IN_FLIGHT;
  const requestBytes = Math.max(stagingBytes, opts.requestBytes ?? DEFAULT_REQUEST_BYTES);
  if (
    !Number.isSafeInteger(stagingBytes) || stagingBytes < 16 || !Number.isSafeInteger(inFlight) || inFlight < 1 ||
    !Number.isSafeInteger(requestBytes) || requestBytes < 1
  ) {
    throw new UsageError(
      "E_USAGE",
      `stagingBytes must be >= 16, inFlight and requestBytes >= 1, got ${stagingBytes}, ${inFlight}, ${requestBytes}`,
    );
  }
  const given = opts.device ?? gpuEngineOf(opts.engine)?.context.device;
  const device = given ?? (await acquireGpu()).device;
  // A device acquired here goes to the caller with the result; a failed load releases it.
  const releaseOwn = () => given === undefined && device.destroy();
  const gpuCast = gpuEngineOf(opts.engine)?.context.device === device ? gpuEngineOf(opts.engine) : undefined;
  let lost: GpuError | undefined;
  device.lost.then((info) => (lost = new GpuError("E_GPU_LOST", `GPU device lost (${info.reason}): ${info.message}`)));
  const alive = () => {
    signal?.throwIfAborted();
    if (lost) throw lost;
  };

  const globs = keyFilter(opts.include, opts.exclude);
  const selected = (name: string) => globs(name) && (opts.filter?.(name) ?? true);
  const resolved = opts.cache ? await opts.cache.resolve(input) : input;
  const opened = await openInput(resolved, { signal, http: opts.http, select: selected, inFlight }).catch((error) => {
    releaseOwn();
    // An abort surfaces as whatever the interrupted request threw; report the abort itself.
    throw signal?.aborted ? signal.reason : error;
  });
  const created: GPUBuffer[] = [];
  try {
    const source = opened.source;
    const entries = source.entries.filter((e): e is TensorEntry => e.kind === "tensor" && selected(e.name));
    const view = opened.view;
    alive();
    const limit = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
    const built = await buildPlan({
      source,
      tensors: entries,
      dtype: opts.dtype,
      maxPartBytes: Math.min(limit, opts.maxPartBytes ?? limit),
      stagingBytes,
      requestBytes,
      held: (path, offset, length) => view?.holds(path, offset, length) ?? false,
    });
    const maxOut = built.tensors.reduce((m, t) => Math.max(m, itemsize(t.to) / itemsize(t.entry.dtype)), 1);
    // Staging buffers as large as the largest piece, at most `stagingBytes`: small models stay small.
    const bandBytes = (b: Band) => {
      const e = built.tensors[b.tensor].entry;
      return (e.shape.length === 0 ? 1 : b.rows * numel(e.shape.slice(1))) * itemsize(e.dtype);
    };
    const slotBytes = built.bands.reduce(
      (m, b) => Math.max(m, Math.min(stagingBytes, bandBytes(b))),
      built.requests.reduce((m, r) => r.members.reduce((n, s) => Math.max(n, s.length), m), 16),
    );
    // What one task's slot may hold: gathered stored bytes (casts, bands), their cast, and a read piece where
    // the source cannot stream.
    const casts = built.tensors.some((t) => t.to !== t.entry.dtype);
    const streams = built.requests.every((r) => r.members[0].tag!.source.readChunks !== undefined);
    const perSlot = (casts || built.bands.length > 0 ? 1 : 0) + (casts ? maxOut : 0) + (streams ? 0 : 1);
    const { dataRequests, ...rest } = built.plan;
    const plan: LoadPlan = {
      format: source.format,
      ...rest,
      requests: {
        headers: view?.requests ?? 0,
        data: dataRequests,
        bandedTensors: new Set(built.bands.map((b) => b.tensor)).size,
      },
      hostBytes: Math.ceil(Math.min(inFlight, built.requests.length + built.bands.length) * slotBytes * perSlot) +
        (view?.heldBytes ?? 0),
    };
    if (!plan.fitsDevice) throw new GpuError("E_UNSUPPORTED", plan.problems.join("; "), { path: source.path });
    await opts.onPlan?.(plan);
    alive();

    const writers = await createBuffers(device, built.tensors, created, source.path);
    alive();
    const progress = new ProgressTracker(plan.sourceBytes, built.tensors.length, opts.onProgress);
    const remaining = built.tensors.map((t) => t.entry.bytes);
    const loadMs = built.tensors.map(() => 0);
    const tensorDone = (t: number, bytes: number) => {
      progress.add(bytes, built.tensors[t].entry.name);
      remaining[t] -= bytes;
      if (remaining[t] === 0) {
        loadMs[t] = performance.now() - started;
        progress.fileDone(built.tensors[t].entry.name);
      }
    };
    built.tensors.forEach((t, i) => t.entry.bytes === 0 && tensorDone(i, 0));

    // A slot holds a task's staging buffers (stored bytes, their cast, a read piece), each made when first
    // needed; `runLimited` keeps at most `inFlight` tasks running, so the free list never runs dry.
    const slots: Slot[] = [];
    let hostBytes = 0;
    const take = (): Slot => slots.pop() ?? { input: EMPTY, out: EMPTY, piece: EMPTY };
    const grown = (slot: Slot, which: keyof Slot, length: number): Uint8Array => {
      if (slot[which].byteLength < length) {
        hostBytes += length - slot[which].byteLength;
        slot[which] = new Uint8Array(length);
      }
      return slot[which].subarray(0, length);
    };
    const place = async (
      slot: Slot,
      t: number,
      part: number,
      outOffset: number,
      bytes: Uint8Array,
      from: DType,
      to: DType,
    ) => {
      const writer = writers[t][part];
      if (from === to) return writer.write(outOffset, bytes);
      const outLength = (bytes.byteLength / itemsize(from)) * itemsize(to);
      const aligned = outOffset % 4 === 0 && (outLength % 4 === 0 || outOffset + outLength === writer.byteLength);
      if (gpuCast && aligned) {
        const converted = await gpuCast.convertToGpuBuffer(bytes, from, to);
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(
          converted,
          0,
          writer.buffer,
          outOffset,
          Math.min(converted.size, Math.ceil(outLength / 4) * 4),
        );
        device.queue.submit([encoder.finish()]);
        // WebGPU frees a destroyed buffer only after the submitted copy that reads it has run.
        converted.destroy();
        return;
      }
      writer.write(outOffset, convertCpu(bytes, from, to, grown(slot, "out", outLength)));
    };

    // Backpressure: uploads are queued for the GPU process, which may take them slower than they arrive;
    // without a bound every queued byte stays in host memory (measured: the whole tensor, in Chromium).
    // Every `QUEUE_STEP_BYTES` queued, a marker; past `inFlight` markers, wait for the oldest.
    const submitted: Promise<void>[] = [];
    let queuedSinceMark = 0;
    const queued = async (bytes: number) => {
      queuedSinceMark += bytes;
      if (queuedSinceMark < QUEUE_STEP_BYTES) return;
      queuedSinceMark = 0;
      submitted.push(device.queue.onSubmittedWorkDone());
      while (submitted.length > inFlight) await submitted.shift();
    };
    // One request streams its bytes through here in order; each member (a piece of one tensor part) takes
    // the chunk's bytes it covers: kept bytes are written at once, bytes to cast gather until the piece is
    // whole. Pieces of one request may overlap (two tensors viewing one storage), hence a gathering buffer each.
    const fetchTask = (r: (typeof built.requests)[number]) => async () => {
      alive();
      const slot = take();
      const gathering = new Map<Segment, Uint8Array>();
      let first = 0;
      const sink = async (chunk: Uint8Array, at: number) => {
        alive();
        const end = at + chunk.byteLength;
        while (first < r.members.length && r.members[first].offset + r.members[first].length <= at) first++;
        for (let i = first; i < r.members.length && r.members[i].offset < end; i++) {
          const s = r.members[i].tag as Segment;
          const lo = Math.max(at, s.offset);
          const hi = Math.min(end, s.offset + s.length);
          if (hi <= lo) continue;
          const bytes = chunk.subarray(lo - at, hi - at);
          if (s.from === s.to) {
            writers[s.tensor][s.part].write(s.outOffset + lo - s.offset, bytes);
            tensorDone(s.tensor, bytes.byteLength);
            await queued(bytes.byteLength);
            continue;
          }
          let into = gathering.get(s);
          if (into === undefined) {
            const free = ![...gathering.values()].some((g) => g.buffer === slot.input.buffer);
            into = free ? grown(slot, "input", s.length) : new Uint8Array(s.length);
            gathering.set(s, into);
          }
          into.set(bytes, lo - s.offset);
          if (hi === s.offset + s.length) {
            gathering.delete(s);
            await place(slot, s.tensor, s.part, s.outOffset, into, s.from, s.to);
            tensorDone(s.tensor, s.length);
            await queued(s.length);
          }
        }
      };
      try {
        const source = r.members[0].tag!.source;
        const piece = source.readChunks ? EMPTY : grown(slot, "piece", Math.min(r.length, slotBytes));
        await streamSource(source, r.offset, r.length, sink, piece);
        alive();
      } finally {
        slots.push(slot);
      }
    };
    const bandTask = (b: Band) => async () => {
      alive();
      const slot = take();
      try {
        const t = built.tensors[b.tensor];
        const e = t.entry;
        const box = e.shape.length === 0 ? { offsets: [], sizes: [] } : {
          offsets: e.shape.map((_, d) => (d === 0 ? b.firstRow : 0)),
          sizes: e.shape.map((s, d) => (d === 0 ? b.rows : s)),
        };
        const length = bandBytes(b);
        const band = await source.readTensor(e.name, box, grown(slot, "input", length));
        alive();
        await place(slot, b.tensor, b.part, b.outOffset, band.data, e.dtype, t.to);
        tensorDone(b.tensor, length);
        await queued(length);
      } finally {
        slots.push(slot);
      }
    };
    await runLimited([...built.requests.map(fetchTask), ...built.bands.map(bandTask)], inFlight);
    for (const list of writers) for (const w of list) w.finish();
    await Promise.race([
      device.queue.onSubmittedWorkDone(),
      device.lost.then(() => Promise.reject(lost)),
    ]);
    alive();

    const tensors = new Map<string, GpuTensor>();
    built.tensors.forEach((t, i) => {
      const parts = t.parts.map((p, j) => ({ buffer: writers[i][j].buffer, ...p }));
      tensors.set(t.entry.name, {
        name: t.entry.name,
        dtype: t.to,
        shape: [...t.entry.shape],
        buffer: parts[0].buffer,
        byteLength: t.byteLength,
        parts,
        loadMs: loadMs[i],
      });
    });
    const held = [...created];
    return {
      device,
      tensors,
      plan,
      stats: {
        requests: view?.requests ?? 0,
        bytesFetched: view?.bytesFetched ?? 0,
        peakHostBytes: hostBytes + (view?.peakHeldBytes ?? 0),
        ms: performance.now() - started,
        castOn: gpuCast ? "gpu" : "cpu",
        fromCache: resolved !== input,
      },
      destroy: () => held.forEach((b) => b.destroy()),
    };
  } catch (error) {
    for (const b of created) b.destroy();
    releaseOwn();
    // An abort surfaces as whatever the interrupted request threw; report the abort itself.
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    opened.view?.drop();
    if (opened.owned) await opened.source.close();
  }
}

/** A task's staging buffers: stored bytes gathered (or a band), their cast, a piece read for a source that cannot stream. */
interface Slot {
  input: Uint8Array;
  out: Uint8Array;
  piece: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function gpuEngineOf(engine: Engine | undefined): GpuEngine | undefined {
  return engine instanceof GpuEngine && engine.kind === "gpu" ? engine : undefined;
}

/**
 * Every buffer of the plan, each tensor's inside an out-of-memory scope so that an allocation the device
 * cannot hold becomes E_GPU_OOM naming the tensor. Created buffers are pushed to `created` at once, so a
 * failure later still destroys them.
 */
async function createBuffers(
  device: GPUDevice,
  tensors: TensorPlan[],
  created: GPUBuffer[],
  path: string,
): Promise<GpuPartWriter[][]> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const out: GpuPartWriter[][] = [];
  for (const t of tensors) {
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const writers = t.parts.map((p) => {
      const buffer = device.createBuffer({
        size: Math.max(4, Math.ceil(p.byteLength / 4) * 4),
        usage,
        label: t.entry.name,
      });
      created.push(buffer);
      return new GpuPartWriter(device.queue, buffer, p.byteLength, t.entry.name);
    });
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (oom) {
      throw new GpuError(
        "E_GPU_OOM",
        `GPU out of memory creating ${t.byteLength} bytes for ${t.entry.name}: ${oom.message}`,
        {
          path,
        },
      );
    }
    if (validation) {
      throw new GpuError("E_GPU", `GPU refused the buffers of ${t.entry.name}: ${validation.message}`, { path });
    }
    out.push(writers);
  }
  return out;
}
