import type { StateDictAdapter } from "../adapters/mod.ts";
import type { Limits } from "../limits/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { CONVERT_TARGETS, isConvertTarget } from "../dtype/mod.ts";
import type { StatePath } from "../dcp/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { createLazyEngine } from "../engine/mod.ts";
import { UsageError } from "../errors/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { DEFAULT_BAND_BYTES, sortByStorage } from "../pipeline/mod.ts";
import { copyHfAssets } from "./hf_assets.ts";
import type { Layout } from "../dcp/mod.ts";
import type { Location } from "../source/mod.ts";
import type { Part } from "../writers/mod.ts";
import type { ProgressCallback } from "../tasks/mod.ts";
import { ProgressTracker } from "../tasks/mod.ts";
import type { SelectOptions } from "../source/mod.ts";
import { selectEntries } from "../source/mod.ts";
import { openTensorSource } from "../source/mod.ts";
import type { SourceFormat, TensorSource } from "../source/mod.ts";
import { planTargets } from "../pipeline/mod.ts";
import { type TargetFormat, WRITERS } from "../writers/mod.ts";

/**
 * Output files written at once unless told otherwise. Each has its own band pipeline (a few bands of
 * memory); with fewer writers than files, the last files run alone at the end, each on one I/O thread.
 */
export const DEFAULT_CONCURRENCY = 4;

/** Options of `convert`. */
export interface ConvertOptions extends SelectOptions {
  /** The output format. */
  to: TargetFormat;
  /** Cast floating tensors (round to nearest even, bit-identical to torch `.to()`). */
  dtype?: DType;
  /** A model mapping (e.g. llama3 to-hf / from-hf) applied to the selected tensors. */
  adapter?: StateDictAdapter;
  /** An HF folder whose config/tokenizer files are copied and whose shard plan is followed. */
  hfAssets?: Location;
  /** safetensors: shard size limit in bytes. */
  maxShardSize?: number;
  /** dcp: the target chunking (default: 1 rank). */
  layout?: Layout;
  /** Write only this share of the output files; `finalize` completes the output. */
  part?: Part;
  /** The engine that casts (default: the GPU when there is one, created on first use). */
  engine?: Engine;
  /** Output files written in parallel (default `DEFAULT_CONCURRENCY`). */
  concurrency?: number;
  /** Source bytes of one band while streaming (default 4 MiB). */
  bandBytes?: number;
  /** Called as tensor bytes are written. */
  onProgress?: ProgressCallback;
  /** Called for every warning (also collected in the report). */
  onWarning?: (message: string) => void;
  /**
   * dcp: copy BYTE_IO values whose pickles name globals outside the allow-list, which torch would run on
   * load (default false: refused with E_UNSAFE_VALUE naming the key).
   */
  allowUnsafeValues?: boolean;
  /** Overrides of the limits on untrusted input applied when the source is opened (see `Limits`). */
  limits?: Partial<Limits>;
}

/** What `convert` and `reshard` wrote. */
export interface ConvertReport {
  /** The input's format. */
  from: SourceFormat;
  /** The output's format. */
  to: TargetFormat;
  /** Files written, relative to the destination storage. */
  files: string[];
  /** Tensors written. */
  tensors: number;
  /** Non-tensor values written. */
  values: number;
  /** Tensor data bytes written. */
  bytes: number;
  /** Entries left out by the options or the adapter. */
  dropped: string[];
  /** Warnings (also passed to `onWarning`). */
  warnings: string[];
}

/**
 * `webdcp convert`: reads any supported source and writes DCP, safetensors or a torch.save file, streaming
 * tensor data in row bands (memory stays near the largest band plus a fixed budget per file in flight).
 */
export async function convert(src: Location, dst: Location, opts: ConvertOptions): Promise<ConvertReport> {
  checkOptions(opts);
  const source = await openTensorSource(src.storage, src.path, { limits: opts.limits });
  try {
    return await convertSource(source, dst, opts);
  } finally {
    await source.close();
  }
}

/** `convert` on an already opened source (`reshard` and callers that wrap a source use this). */
export async function convertSource(source: TensorSource, dst: Location, opts: ConvertOptions): Promise<ConvertReport> {
  checkOptions(opts);
  const engine = opts.engine ?? createLazyEngine({ kind: "auto" });
  try {
    return await convertWith(source, dst, opts, engine);
  } finally {
    if (!opts.engine) engine.dispose();
  }
}

function checkOptions(opts: ConvertOptions): void {
  if (opts.dtype !== undefined && !isConvertTarget(opts.dtype)) {
    throw new UsageError("E_USAGE", `dtype must be one of ${CONVERT_TARGETS.join(", ")}, got '${opts.dtype}'`, {
      option: "dtype",
    });
  }
  if (opts.part && opts.to === "torch") {
    throw new UsageError("E_USAGE", "part cannot split a single torch.save file", { option: "part" });
  }
}

async function convertWith(
  source: TensorSource,
  dst: Location,
  opts: ConvertOptions,
  engine: Engine,
): Promise<ConvertReport> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const selection = selectEntries(source.entries, source.format, opts);
  const { targets, dropped } = planTargets(selection, { dtype: opts.dtype, adapter: opts.adapter, path: source.path });
  const ordered = sortByStorage(targets.map((t) => ({ ...t.source, target: t }))).map((e) => e.target);
  let values = selection.values;
  if (values.length > 0 && (opts.to === "safetensors" || opts.adapter)) {
    const why = opts.adapter ? `the ${opts.adapter.model} adapter maps tensors only` : "safetensors holds only tensors";
    warn(
      `${values.length} non-tensor entr${values.length === 1 ? "y is" : "ies are"} not written (${why}): ` +
        values.map((v) => v.entry.name).join(", "),
    );
    values = [];
  }
  const total = ordered.reduce((s, t) => s + t.bytes, 0);
  const tracker = new ProgressTracker(total, 0, opts.onProgress);
  const assets = opts.to === "safetensors" && opts.hfAssets
    ? await copyHfAssets(opts.hfAssets, dst, opts.part)
    : undefined;
  const paths = opts.to === "dcp" && opts.adapter
    ? flatPaths(ordered.map((t) => t.name))
    : outputPaths(source, selection);
  const files = await WRITERS[opts.to]({ source, targets: ordered, values, paths }, dst, {
    engine,
    tracker,
    bandBytes: opts.bandBytes ?? DEFAULT_BAND_BYTES,
    concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
    copies: dst.storage.canCopyFrom?.(source.storage) ?? false,
    part: opts.part,
    layout: opts.layout,
    allowUnsafeValues: opts.allowUnsafeValues,
    maxShardSize: opts.maxShardSize,
    shardMap: assets?.shardMap,
  });
  if (assets) files.push(...assets.files);
  if (
    opts.to === "safetensors" && opts.adapter && !dst.path.endsWith(".safetensors") &&
    (!opts.part || opts.part.index === 0)
  ) {
    // The adapter's files (the flavor's config.json) fill in what the assets folder does not provide.
    for (const f of opts.adapter.extraFiles({ dtype: opts.dtype })) {
      const p = joinPath(dst.path, f.path);
      if (assets?.files.includes(p)) continue;
      await dst.storage.writeAll(p, f.bytes);
      files.push(p);
    }
  }
  return {
    from: source.format,
    to: opts.to,
    files,
    tensors: ordered.length,
    values: values.length,
    bytes: total,
    dropped: [...selection.dropped, ...dropped],
    warnings,
  };
}

/** Top-level keys, as PyTorch's planner records a flat state dict. */
function flatPaths(names: readonly string[]): Map<string, StatePath> {
  return new Map(names.map((n) => [n, [n]]));
}

/**
 * Object paths of the output entries (DCP `planner_data`, `.pt` nesting): the source's nesting minus an
 * unwrapped `model.` level, or top-level keys for flat sources (safetensors).
 */
function outputPaths(
  source: TensorSource,
  selection: {
    tensors: { name: string; entry: { name: string } }[];
    values: { name: string; entry: { name: string } }[];
  },
): Map<string, StatePath> {
  const out = new Map<string, StatePath>();
  for (const s of [...selection.tensors, ...selection.values]) {
    const p = source.paths?.get(s.entry.name) ?? [s.entry.name];
    const renamed = s.name !== s.entry.name;
    out.set(s.name, renamed ? (p[0] === "model" && p.length > 1 ? p.slice(1) : [s.name]) : p);
  }
  return out;
}
