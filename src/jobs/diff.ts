import type { DType } from "../dtype/mod.ts";
import { itemsize } from "../dtype/mod.ts";
import type { StateDictAdapter } from "../adapters/mod.ts";
import type { Engine } from "../engine/mod.ts";
import { createEngine } from "../engine/mod.ts";
import { wholeBox } from "../tensor/mod.ts";
import { pyEqual } from "../pickle/mod.ts";
import { DEFAULT_BAND_BYTES, rowBands } from "../pipeline/mod.ts";
import type { Location } from "../source/mod.ts";
import { toFloat64 } from "./numbers.ts";
import type { ProgressCallback } from "../tasks/mod.ts";
import { ProgressTracker } from "../tasks/mod.ts";
import { selectEntries } from "../source/mod.ts";
import { openTensorSource } from "../source/mod.ts";
import type { SourceFormat, TensorEntry, TensorSource } from "../source/mod.ts";
import { valueEntries } from "../source/mod.ts";
import type { TargetTensor } from "../pipeline/mod.ts";
import { planTargets, readTargetBox } from "../pipeline/mod.ts";

/** How one tensor present in both inputs compares. */
export interface TensorDiff {
  /** The tensor's name (after the adapter, if any). */
  name: string;
  /** Its dtype in a and in b. */
  dtype: [DType, DType];
  /** Its shape in a and in b. */
  shape: [number[], number[]];
  /** Set when the tensors cannot be compared element by element, or differ in dtype. */
  mismatch?: "shape" | "dtype";
  /** Every byte equal (only possible with equal dtypes and shapes). */
  equalBits: boolean;
  /** Largest |a - b| over elements where both are finite. */
  maxAbsError: number;
  /** Largest |a - b| / |a| over elements where both are finite (a = first input); Infinity when a is 0 and b is not. */
  maxRelError: number;
  /** Elements where exactly one side is NaN, or the sides are different infinities. */
  nonFiniteMismatches: number;
}

/** What `diff` found. */
export interface DiffReport {
  /** The first input. */
  a: { format: SourceFormat; path: string };
  /** The second input. */
  b: { format: SourceFormat; path: string };
  /** Tensors in both inputs. */
  tensors: TensorDiff[];
  /** `equal` is false also when a value is too large or deep to compare (see `pyEqual`). */
  values: Array<{ name: string; equal: boolean }>;
  /** Keys on one side only (names as compared, i.e. after the adapter on side a). */
  onlyInA: string[];
  /** Tensor names only b holds. */
  onlyInB: string[];
  /** Bit-identical tensors, equal values, same keys. */
  identical: boolean;
}

/** Options of `diff`. */
export interface DiffOptions {
  /** Maps side a's names/rows into side b's (e.g. llama3 `to-hf` to compare a TorchTitan DCP with an HF folder). */
  adapter?: StateDictAdapter;
  /** The engine that widens values for comparison (default: the CPU engine). */
  engine?: Engine;
  /** Bytes of one band read at a time (default 4 MiB). */
  bandBytes?: number;
  /** Called as tensor bytes are compared. */
  onProgress?: ProgressCallback;
}

/** `webdcp diff a b`: compares two checkpoints of any formats, tensor by tensor, streaming in row bands. */
export async function diff(a: Location, b: Location, opts: DiffOptions = {}): Promise<DiffReport> {
  const engine = opts.engine ?? await createEngine({ kind: "cpu" });
  const sa = await openTensorSource(a.storage, a.path).catch((e) => {
    if (!opts.engine) engine.dispose();
    throw e;
  });
  try {
    const sb = await openTensorSource(b.storage, b.path);
    try {
      return await diffSources(sa, sb, engine, opts);
    } finally {
      await sb.close();
    }
  } finally {
    await sa.close();
    if (!opts.engine) engine.dispose();
  }
}

async function diffSources(sa: TensorSource, sb: TensorSource, engine: Engine, opts: DiffOptions): Promise<DiffReport> {
  const selA = selectEntries(sa.entries, sa.format, {});
  const { targets } = planTargets(opts.adapter ? { ...selA, values: [] } : selA, {
    adapter: opts.adapter,
    path: sa.path,
  });
  const bTensors = new Map<string, TensorEntry>();
  for (const e of sb.entries) if (e.kind === "tensor") bTensors.set(e.name, e);
  const aNames = new Set(targets.map((t) => t.name));
  const report: DiffReport = {
    a: { format: sa.format, path: sa.path },
    b: { format: sb.format, path: sb.path },
    tensors: [],
    values: [],
    onlyInA: targets.filter((t) => !bTensors.has(t.name)).map((t) => t.name),
    onlyInB: [...bTensors.keys()].filter((n) => !aNames.has(n)),
    identical: false,
  };
  const common = targets.flatMap((t) => {
    const other = bTensors.get(t.name);
    return other ? [{ t, other }] : [];
  });
  const total = common.reduce((s, { t, other }) => s + t.bytes + other.bytes, 0);
  const tracker = new ProgressTracker(total, 0, opts.onProgress);
  for (const { t, other } of common) {
    report.tensors.push(await diffTensor(sa, t, sb, other, engine, opts.bandBytes, tracker));
  }
  if (!opts.adapter) {
    const bValues = new Map(valueEntries(sb).map((v) => [v.name, v]));
    for (const v of valueEntries(sa)) {
      if (!bValues.has(v.name)) {
        report.onlyInA.push(v.name);
        continue;
      }
      const [va, vb] = [await sa.readValue(v.name), await sb.readValue(v.name)];
      report.values.push({ name: v.name, equal: pyEqual(va, vb) === true });
      bValues.delete(v.name);
    }
    for (const k of bValues.keys()) report.onlyInB.push(k);
  }
  report.identical = report.onlyInA.length === 0 && report.onlyInB.length === 0 &&
    report.tensors.every((t) => t.equalBits) && report.values.every((v) => v.equal);
  return report;
}

async function diffTensor(
  sa: TensorSource,
  ta: TargetTensor,
  sb: TensorSource,
  eb: TensorEntry,
  engine: Engine,
  bandBytes = DEFAULT_BAND_BYTES,
  tracker: ProgressTracker,
): Promise<TensorDiff> {
  const d: TensorDiff = {
    name: ta.name,
    dtype: [ta.dtype, eb.dtype],
    shape: [ta.shape, eb.shape],
    equalBits: ta.dtype === eb.dtype,
    maxAbsError: 0,
    maxRelError: 0,
    nonFiniteMismatches: 0,
  };
  if (ta.shape.join() !== eb.shape.join() || ta.shape.length !== eb.shape.length) {
    return { ...d, mismatch: "shape", equalBits: false, maxAbsError: NaN, maxRelError: NaN };
  }
  if (ta.dtype !== eb.dtype) d.mismatch = "dtype";
  const widest = Math.max(itemsize(ta.dtype), itemsize(eb.dtype));
  for (const band of rowBands(wholeBox(ta.shape), widest, bandBytes)) {
    const bytesA = await readTargetBox(sa, ta, band, engine);
    const bytesB = (await sb.readTensor(eb.name, band)).data;
    if (d.equalBits && !sameBytes(bytesA, bytesB)) d.equalBits = false;
    const x = await toFloat64(bytesA, ta.dtype, engine);
    const y = await toFloat64(bytesB, eb.dtype, engine);
    for (let i = 0; i < x.length; i++) {
      const [p, q] = [x[i], y[i]];
      if (Number.isFinite(p) && Number.isFinite(q)) {
        const abs = Math.abs(p - q);
        if (abs > d.maxAbsError) d.maxAbsError = abs;
        const rel = abs === 0 ? 0 : p === 0 ? Infinity : abs / Math.abs(p);
        if (rel > d.maxRelError) d.maxRelError = rel;
      } else if (!(Number.isNaN(p) && Number.isNaN(q)) && p !== q) {
        d.nonFiniteMismatches++;
      }
    }
    tracker.add(bytesA.byteLength + bytesB.byteLength, ta.name);
  }
  return d;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}
