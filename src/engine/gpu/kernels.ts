import { kindDeclarations } from "./kinds.ts";
import { SHADER_SOURCES } from "./shaders.generated.ts";
import { type Window, WORKGROUP_SIZE } from "./planner.ts";
import type { Slot } from "./pipeline.ts";

export type Entry = "convert_main" | "region_copy_main" | "row_gather_main";

/**
 * The WGSL of each entry point: the kind constants, convert.wgsl, and region_copy.wgsl or row_gather.wgsl,
 * which are written as appendices to convert.wgsl (shared bindings).
 */
export const MODULE_TEXT: Record<Entry, () => string> = {
  convert_main: () => kindDeclarations() + SHADER_SOURCES.convert,
  region_copy_main: () => kindDeclarations() + SHADER_SOURCES.convert + "\n" + SHADER_SOURCES.region_copy,
  row_gather_main: () => kindDeclarations() + SHADER_SOURCES.convert + "\n" + SHADER_SOURCES.row_gather,
};

/** The dispatch parameters, laid out as `Params` in convert.wgsl. */
export interface DispatchParams {
  wordCount: number;
  firstWord?: number;
  srcBase?: number;
  dstBase?: number;
  count?: number;
  rowElements?: number;
}

export function encodeParams(p: DispatchParams): Uint32Array {
  return Uint32Array.of(
    p.wordCount,
    p.firstWord ?? 0,
    p.srcBase ?? 0,
    p.dstBase ?? 0,
    p.count ?? 0,
    p.rowElements ?? 0,
    0,
    0,
  );
}

/** Compiled pipelines, one per (entry point, source kind, destination kind), built on first use. */
export class Kernels {
  #modules = new Map<Entry, GPUShaderModule>();
  #pipelines = new Map<string, GPUComputePipeline>();
  constructor(private readonly device: GPUDevice) {}

  pipeline(entry: Entry, srcKind: number, dstKind: number): GPUComputePipeline {
    const key = `${entry}:${srcKind}:${dstKind}`;
    let pipeline = this.#pipelines.get(key);
    if (pipeline === undefined) {
      let module = this.#modules.get(entry);
      if (module === undefined) {
        module = this.device.createShaderModule({ label: entry, code: MODULE_TEXT[entry]() });
        this.#modules.set(entry, module);
      }
      pipeline = this.device.createComputePipeline({
        label: key,
        layout: "auto",
        compute: {
          module,
          entryPoint: entry,
          constants: { SRC_KIND: srcKind, DST_KIND: dstKind, WORKGROUP_SIZE },
        },
      });
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /**
   * Encodes one dispatch. `src` and `dst` are bound windows; the slot's params (and meta, for region
   * copy and row gather) must already hold this dispatch's values.
   */
  encode(
    encoder: GPUCommandEncoder,
    entry: Entry,
    kinds: { src: number; dst: number },
    src: { buffer: GPUBuffer } & Window,
    dst: { buffer: GPUBuffer } & Window,
    slot: Slot,
    metaBytes: number,
    dispatch: [number, number],
  ): void {
    const pipeline = this.pipeline(entry, kinds.src, kinds.dst);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: src.buffer, offset: src.offset, size: src.size } },
      { binding: 1, resource: { buffer: dst.buffer, offset: dst.offset, size: dst.size } },
      { binding: 2, resource: { buffer: slot.params } },
    ];
    if (entry !== "convert_main") {
      entries.push({ binding: 3, resource: { buffer: slot.meta, offset: 0, size: Math.max(4, metaBytes) } });
    }
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(dispatch[0], dispatch[1]);
    pass.end();
  }
}
