import { GpuError } from "../../errors/mod.ts";
import type { GpuLimits } from "./planner.ts";
import { certainlyNoGpu } from "./gpu_nodes.ts";

/** A WebGPU device with the limits the engine plans against and what to call it in reports. */
export interface GpuContext {
  /** The device. */
  device: GPUDevice;
  /** The limits work is split to. */
  limits: GpuLimits;
  /** The adapter's name. */
  adapterName: string;
  /** Whether the adapter is a software one. */
  isFallbackAdapter: boolean;
  /** Set once the device is lost; every later call fails with E_GPU_LOST. */
  lost?: GpuError;
  /** The GPU object the device came from: Dawn in Node tears everything down if it is collected. */
  gpu?: GPU;
}

/** How `acquireGpu` finds a WebGPU adapter. */
export interface AcquireOptions {
  /** Options for Node's `webgpu` (Dawn) `create()`; default: the Vulkan backend on Linux. */
  dawnOptions?: string[];
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /**
   * Refuse software adapters (E_GPU_UNAVAILABLE) before a device is requested, and ask for no adapter at all
   * where the machine has no GPU device node (`certainlyNoGpu`): "auto" engines ask this.
   */
  hardwareOnly?: boolean;
}

type NodeWebgpu = { create(options: string[]): GPU; globals: Record<string, unknown> };

type DenoHost = {
  build: { os: string };
  env: { get(key: string): string | undefined; set(key: string, value: string): void };
  uid(): number | null;
  mkdirSync(path: string, options: { recursive: boolean; mode: number }): void;
};

/**
 * Mesa's Vulkan and EGL drivers (behind Deno's wgpu) complain "XDG_RUNTIME_DIR is invalid" on every adapter
 * request when the variable is unset, as on headless servers and CI. Give them a private folder, as a login
 * session would, before the first request.
 */
function ensureRuntimeDir(): void {
  const deno = (globalThis as { Deno?: DenoHost }).Deno;
  if (!deno || deno.build.os !== "linux") return;
  try {
    if (deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = `/tmp/webdcp-xdg-${deno.uid() ?? "user"}`;
    deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env/write permission the drivers only print their warning; the adapter still works.
  }
}

async function findGpu(options: AcquireOptions): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    ensureRuntimeDir();
    return nav.gpu;
  }
  const proc = (globalThis as { process?: { versions?: { node?: string }; platform?: string } }).process;
  if (!proc?.versions?.node) return undefined;
  // Only Node gets here, so Deno and browsers never load the native Dawn module. The specifier is built
  // at run time to keep bundlers from pulling the package in.
  const specifier = "webgpu";
  let dawn: NodeWebgpu;
  try {
    dawn = await import(specifier) as NodeWebgpu;
  } catch (cause) {
    throw new GpuError("E_GPU_UNAVAILABLE", "the 'webgpu' package (Dawn) could not be loaded", { cause });
  }
  // Dawn's objects expect the WebGPU globals (GPUBufferUsage, ...) that browsers and Deno define.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return dawn.create(options.dawnOptions ?? (proc.platform === "linux" ? ["backend=vulkan"] : []));
}

function describe(adapter: GPUAdapter): string {
  const info = adapter.info;
  return info?.description || [info?.vendor, info?.architecture, info?.device].filter((s) => s).join(" ") ||
    "unknown adapter";
}

/** Software rasterisers that WebGPU implementations hand out when no real GPU is present. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|basic render|\bcpu\b/i;

/**
 * True for adapters that run on the CPU: flagged as fallback, typed as CPU (Dawn's `adapterType`), or
 * named after a known software rasteriser. On them the CPU twin is several times faster than the shaders.
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean; adapterType?: string }) | undefined;
  if (info?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  if (info?.adapterType === "cpu") return true;
  return SOFTWARE_ADAPTER.test([info?.description, info?.vendor, info?.architecture, info?.device].join(" "));
}

/**
 * Acquires an adapter and a device asking for the adapter's real binding and buffer limits, so big
 * tensors need fewer splits. Software adapters are accepted unless `hardwareOnly`. No adapter ->
 * E_GPU_UNAVAILABLE, as is `hardwareOnly` on a machine that `certainlyNoGpu` rules out.
 */
export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  if (options.hardwareOnly && certainlyNoGpu()) {
    throw new GpuError(
      "E_GPU_UNAVAILABLE",
      "no GPU device node (/dev/dri, /dev/nvidiactl, /dev/dxg): WebGPU could offer only a software adapter",
    );
  }
  const gpu = await findGpu(options);
  if (gpu === undefined) throw new GpuError("E_GPU_UNAVAILABLE", "this runtime has no WebGPU (navigator.gpu)");
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? "high-performance" });
  if (adapter === null) throw new GpuError("E_GPU_UNAVAILABLE", "WebGPU found no adapter");
  const software = isSoftwareAdapter(adapter);
  if (software && options.hardwareOnly) {
    throw new GpuError("E_GPU_UNAVAILABLE", `WebGPU offers only a software adapter (${describe(adapter)})`);
  }
  const a = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
      maxBufferSize: a.maxBufferSize,
      maxComputeWorkgroupsPerDimension: a.maxComputeWorkgroupsPerDimension,
    },
  });
  const d = device.limits;
  const context: GpuContext = {
    device,
    adapterName: describe(adapter),
    isFallbackAdapter: software,
    limits: {
      maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
      maxBufferSize: d.maxBufferSize,
      minStorageBufferOffsetAlignment: d.minStorageBufferOffsetAlignment,
      maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
    },
  };
  context.gpu = gpu;
  watchDevice(context);
  return context;
}

/** Wraps a device the caller already owns (a loader sharing its device with the engine). */
export function wrapDevice(device: GPUDevice, adapterName = "caller's device"): GpuContext {
  const d = device.limits;
  const context: GpuContext = {
    device,
    adapterName,
    isFallbackAdapter: false,
    limits: {
      maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
      maxBufferSize: d.maxBufferSize,
      minStorageBufferOffsetAlignment: d.minStorageBufferOffsetAlignment,
      maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
    },
  };
  watchDevice(context);
  return context;
}

function watchDevice(context: GpuContext): void {
  context.device.lost.then((info) => {
    context.lost = new GpuError("E_GPU_LOST", `GPU device lost (${info.reason}): ${info.message}`);
  });
}

export function checkAlive(context: GpuContext): void {
  if (context.lost) throw context.lost;
}

/**
 * Runs `work` inside out-of-memory and validation error scopes and turns what they catch into typed
 * errors: E_GPU_OOM (the caller may fall back to the CPU) or E_GPU.
 */
export async function withErrorScopes<T>(
  context: GpuContext,
  what: string,
  work: () => T | Promise<T>,
): Promise<T> {
  checkAlive(context);
  const device = context.device;
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  // The scopes are popped whether or not `work` threw; a GPU error found there outranks the JS one.
  const outcome = await Promise.resolve().then(work).then((value: T) => ({ value }), (error: unknown) => ({ error }));
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  checkAlive(context);
  if (oom) throw new GpuError("E_GPU_OOM", `GPU out of memory during ${what}: ${oom.message}`);
  if (validation) throw new GpuError("E_GPU", `GPU rejected ${what}: ${validation.message}`);
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}
