import type { DType } from "../dtype/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { numel } from "../tensor/mod.ts";
import type { ProgressCallback } from "../tasks/mod.ts";
import { type Location, openTensorSource } from "../source/mod.ts";
import type { SourceFormat, TensorSource } from "../source/mod.ts";
import { tensorEntries, valueEntries } from "../source/mod.ts";

/** What `inspect` found, from headers and metadata only. */
export interface InspectReport {
  /** The input's format. */
  format: SourceFormat;
  /** The input's path in its storage. */
  path: string;
  /** Every tensor: dtype, shape, stored chunks and dense bytes. */
  tensors: Array<{ name: string; dtype: DType; shape: number[]; chunks: number; bytes: number }>;
  /** Every non-tensor value and its stored bytes. */
  values: Array<{ name: string; bytes: number }>;
  /** The data files (with the writing rank for DCP). */
  files: Array<{ path: string; size: number; rank?: number }>;
  /** Files and bytes per writing rank (DCP only; empty elsewhere). */
  ranks: Array<{ rank: number; files: number; bytes: number }>;
  /** Sums over the above. */
  totals: { tensors: number; values: number; elements: number; tensorBytes: number; fileBytes: number };
}

/** Summarises an opened source from its metadata alone (no tensor data is read). */
export function describeSource(source: TensorSource): InspectReport {
  const tensors = tensorEntries(source).map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    chunks: t.chunks.length,
    bytes: t.bytes,
  }));
  const values = valueEntries(source).map((v) => ({ name: v.name, bytes: v.bytes }));
  const files = source.files.map((f) => ({ ...f }));
  const byRank = new Map<number, { rank: number; files: number; bytes: number }>();
  for (const f of files) {
    if (f.rank === undefined) continue;
    const r = byRank.get(f.rank) ?? { rank: f.rank, files: 0, bytes: 0 };
    r.files++;
    r.bytes += f.size;
    byRank.set(f.rank, r);
  }
  return {
    format: source.format,
    path: source.path,
    tensors,
    values,
    files,
    ranks: [...byRank.values()].sort((a, b) => a.rank - b.rank),
    totals: {
      tensors: tensors.length,
      values: values.length,
      elements: tensors.reduce((s, t) => s + numel(t.shape), 0),
      tensorBytes: tensors.reduce((s, t) => s + t.bytes, 0),
      fileBytes: files.reduce((s, f) => s + f.size, 0),
    },
  };
}

/** Options of `inspect`. */
export interface InspectOptions {
  /** Called once the input is described. */
  onProgress?: ProgressCallback;
  /** Overrides of the limits on untrusted input (see `Limits`). */
  limits?: Partial<Limits>;
}

/** `webdcp inspect`: opens any supported input and describes it from headers/metadata only. */
export async function inspect(src: Location, opts: InspectOptions = {}): Promise<InspectReport> {
  const source = await openTensorSource(src.storage, src.path, { limits: opts.limits });
  try {
    const report = describeSource(source);
    opts.onProgress?.({ bytesDone: 0, bytesTotal: 0, filesDone: report.files.length, filesTotal: report.files.length });
    return report;
  } finally {
    await source.close();
  }
}
