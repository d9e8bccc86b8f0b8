import { decodeMetadata, fetchOpenings, itemRanges, METADATA_FILE, storageKey } from "../dcp/mod.ts";
import { FormatError, integerNotation, invariant, type Problem, problemOf } from "../errors/mod.ts";
import type { DcpMetadata } from "../dcp/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { joinPath, PrefetchStorage, readAllWithin, sliceSource } from "../storage/mod.ts";
import { type Limits, resolveLimits } from "../limits/mod.ts";
import type { ByteSource } from "../storage/mod.ts";
import { isTensorRef, openTorchArchive } from "../torch/mod.ts";
import { checkTiling } from "../dcp/mod.ts";
import type { ProgressCallback } from "../tasks/mod.ts";
import { ProgressTracker } from "../tasks/mod.ts";
import { type Location, openTensorSource } from "../source/mod.ts";
import { tensorEntries, valueEntries } from "../source/mod.ts";

/** One problem `verify` found. */
export type VerifyProblem = Problem;

/** What `verify` checked and found. */
export interface VerifyReport {
  /** True when no problem was found. */
  ok: boolean;
  /** Every problem found. */
  problems: VerifyProblem[];
  /** What was checked. */
  checked: { files: number; tensors: number; values: number; items: number; bytesRead: number };
}

/** Options of `verify`. */
export interface VerifyOptions {
  /** Read all data and check every zip CRC-32. */
  deep?: boolean;
  /** Called as items are checked. */
  onProgress?: ProgressCallback;
  /** Overrides of the limits on untrusted input (see `Limits`). */
  limits?: Partial<Limits>;
}

/**
 * `webdcp verify`: lists every problem it finds instead of stopping at the first. DCP folders are checked item
 * by item from `.metadata` (files exist, ranges inside files, chunks tile each tensor, items decode to the
 * recorded dtype and shape); other formats are checked by opening them and, with `deep`, reading every tensor.
 */
export async function verify(src: Location, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { storage, path } = src;
  const metaPath = joinPath(path, METADATA_FILE);
  if (await storage.stat(metaPath)) return await verifyDcp(storage, path, metaPath, opts);
  const report: VerifyReport = {
    ok: true,
    problems: [],
    checked: { files: 0, tensors: 0, values: 0, items: 0, bytesRead: 0 },
  };
  try {
    const source = await openTensorSource(storage, path, { limits: opts.limits });
    try {
      report.checked.files = source.files.length;
      const tensors = tensorEntries(source);
      const tracker = new ProgressTracker(opts.deep ? tensors.reduce((s, t) => s + t.bytes, 0) : 0, 0, opts.onProgress);
      for (const t of tensors) {
        report.checked.tensors++;
        if (!opts.deep) continue;
        try {
          await source.readTensor(t.name);
          report.checked.bytesRead += t.bytes;
          tracker.add(t.bytes, t.name);
        } catch (e) {
          report.problems.push(problemOf(e, t.name));
        }
      }
      for (const v of valueEntries(source)) {
        report.checked.values++;
        try {
          await source.readValue(v.name);
        } catch (e) {
          report.problems.push(problemOf(e, v.name));
        }
      }
      if (opts.deep && source.format === "torch") {
        const src = await storage.open(source.files[0].path);
        try {
          await (await openTorchArchive(src, { path: src.path })).verify();
        } catch (e) {
          report.problems.push(problemOf(e));
        } finally {
          await src.close();
        }
      }
    } finally {
      await source.close();
    }
  } catch (e) {
    report.problems.push(problemOf(e));
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function verifyDcp(storage: Storage, dir: string, metaPath: string, opts: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = {
    ok: false,
    problems: [],
    checked: { files: 0, tensors: 0, values: 0, items: 0, bytesRead: 0 },
  };
  const problems = report.problems;
  let meta: DcpMetadata;
  try {
    const limits = resolveLimits(opts.limits);
    meta = decodeMetadata(await readAllWithin(storage, metaPath, limits, "maxMetadataBytes"), metaPath, limits);
  } catch (e) {
    problems.push(problemOf(e));
    return report;
  }
  // Which items are safe to open: their file exists and their range lies inside it.
  const ranges = await itemRanges(storage, dir, meta, metaPath);
  problems.push(...ranges.problems);
  const usable = ranges.usable;
  report.checked.files = ranges.sizes.size;
  // Over a remote storage the items' ends come first, in coalesced requests (`fetchOpenings`), when every
  // item lies inside its file; otherwise, or should that fail, each item reads its own and reports its problem.
  const view = storage.remote ? new PrefetchStorage(storage) : undefined;
  if (view && ranges.problems.length === 0) await fetchOpenings(view, dir, meta).catch(() => view.drop());
  const reader = view ?? storage;
  // Coverage and presence of every chunk's item.
  type Job = { key: string; fqn: string; tensor?: { dtype: string; sizes: number[] } };
  const jobs: Job[] = [];
  for (const [fqn, entry] of meta.stateDictMetadata) {
    if (entry.kind === "bytes") {
      report.checked.values++;
      const key = storageKey(fqn, null);
      if (!meta.storageData.has(key)) {
        problems.push({
          code: "E_MISSING_KEY",
          message: `value '${fqn}' has no storage item`,
          path: metaPath,
          entry: fqn,
        });
      } else jobs.push({ key, fqn });
      continue;
    }
    report.checked.tensors++;
    for (const p of checkTiling(entry.size, entry.chunks)) {
      problems.push({ code: p.code, message: integerNotation(`'${fqn}': ${p.message}`), path: metaPath, entry: fqn });
    }
    for (const c of entry.chunks) {
      const key = storageKey(fqn, c.offsets);
      if (!meta.storageData.has(key)) {
        problems.push({
          code: "E_MISSING_KEY",
          message: `'${fqn}' chunk at [${c.offsets.join(", ")}] has no storage item`,
          path: metaPath,
          entry: fqn,
        });
      } else jobs.push({ key, fqn, tensor: { dtype: entry.dtype, sizes: c.sizes } });
    }
  }
  // Every usable item decodes (and with --deep, its data reads back and its CRCs match).
  const total = jobs.reduce((s, j) => s + (usable.has(j.key) ? meta.storageData.get(j.key)?.info.length ?? 0 : 0), 0);
  const tracker = new ProgressTracker(total, 0, opts.onProgress);
  const open = new Map<string, ByteSource>();
  try {
    for (const job of jobs) {
      if (!usable.has(job.key)) continue;
      const item = meta.storageData.get(job.key);
      invariant(item, "usable items are storage_data items");
      const { info } = item;
      const file = joinPath(dir, info.relativePath);
      report.checked.items++;
      try {
        if (info.transformDescriptors && info.transformDescriptors.length > 0) {
          throw new FormatError("E_UNSUPPORTED", `stream transforms ${info.transformDescriptors.join(", ")}`, {
            path: file,
            offset: info.offset,
          });
        }
        let src = open.get(file);
        if (!src) open.set(file, src = await reader.open(file));
        const archive = await openTorchArchive(sliceSource(src, info.offset, info.length), { path: file });
        if (job.tensor) {
          const ref = archive.value;
          if (!isTensorRef(ref)) {
            throw new FormatError("E_TORCH_ARCHIVE", `item of '${job.fqn}' does not hold a tensor`, {
              path: file,
              offset: info.offset,
            });
          }
          if (ref.dtype !== job.tensor.dtype || ref.shape.join() !== job.tensor.sizes.join()) {
            throw new FormatError(
              "E_SHAPE",
              `item of '${job.fqn}' holds ${ref.dtype}[${ref.shape}] where .metadata records ` +
                `${job.tensor.dtype}[${job.tensor.sizes}]`,
              { path: file, offset: info.offset },
            );
          }
          if (opts.deep) await archive.readTensor(ref);
        }
        if (opts.deep) await archive.verify();
        report.checked.bytesRead += opts.deep ? info.length : 0;
      } catch (e) {
        problems.push(problemOf(e, job.fqn));
      }
      tracker.add(info.length, job.fqn);
    }
  } finally {
    for (const s of open.values()) await s.close();
    view?.drop();
  }
  report.ok = problems.length === 0;
  return report;
}
