/**
 * Opening a DCP folder and reading from it the way PyTorch's resharding load does: a requested box of a
 * tensor is intersected with the saved chunks, and only the overlapping items, and within each item only
 * the rows the box needs, are read. Data files stay open (one `ByteSource` each) until `close()`.
 */
import { METADATA_FILE } from "./commit.ts";
import { itemsize } from "../dtype/mod.ts";
import { FormatError, invariant, StorageError, UsageError } from "../errors/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import { type Limits, resolveLimits } from "../limits/mod.ts";
import { joinPath, readAllWithin, sliceSource } from "../storage/mod.ts";
import type { ByteSource, Storage, StoredRange } from "../storage/mod.ts";
import type { Box, Entry, Tensor } from "../tensor/mod.ts";
import { boxNumel, byteSize, copyBox, wholeBox } from "../tensor/mod.ts";
import { isTensorRef, loadTorch, openTorchArchive } from "../torch/mod.ts";
import type { TensorRef, TorchArchive } from "../torch/mod.ts";
import { decodeMetadata } from "./decode_metadata.ts";
import { type StateLeaf, unflattenStateDict } from "./flatten.ts";
import { mergeMetadata } from "./merge_metadata.ts";
import type { DcpMetadata, StatePath, StorageEntry, TensorEntryMeta } from "./metadata.ts";
import { storageKey } from "./metadata.ts";
import { checkItemRanges, checkLayout, itemFile } from "./validate.ts";
import {
  checkBox,
  checkChunkItem,
  checkResultSize,
  planBoxRead,
  type ReadPlanContext,
  rejectTransforms,
  runStart,
} from "./read_plan.ts";

/** An entry of a DCP checkpoint, with its object path in the nested state dict (`planner_data`). */
export type DcpEntry = Entry & {
  /** `[name]` when the file has no `planner_data`. */
  path: StatePath;
};

/** A data file of a checkpoint. */
export interface DcpFileInfo {
  /** Its path relative to the checkpoint folder. */
  relativePath: string;
  /** Its size in bytes. */
  size: number;
}

/** Options of `openDcp`. */
export interface OpenDcpOptions {
  /** Stat every data file and check every item's byte range at open (default true). */
  checkFiles?: boolean;
  /** Overrides of the limits applied to `.metadata` and to BYTE_IO values (see `Limits`). */
  limits?: Partial<Limits>;
}

/** An opened DCP checkpoint: metadata checked, data read on demand. */
export interface DcpCheckpoint {
  /** The checkpoint folder in its storage. */
  readonly dir: string;
  /** The decoded (and, for rank-local files, merged) metadata. */
  readonly metadata: DcpMetadata;
  /** Every entry, with its stored chunks and object path. */
  entries(): DcpEntry[];
  /**
   * The `box` (default: whole tensor) of a tensor, in its stored dtype. With `out` (exactly the box's byte
   * size, else E_USAGE) the bytes land there and the result's data is `out`; chunks that are one run of the
   * box are read straight into it, and a chunk that is the whole box costs a single buffer either way.
   */
  readTensor(fqn: string, box?: Box, out?: Uint8Array): Promise<Tensor>;
  /**
   * Where the bytes of `box` of a tensor sit in the data files, in the box's row-major order: one range per
   * saved chunk it touches, when each holds its share as a single run of stored bytes (rows over whole
   * trailing dims of a contiguous chunk); else undefined, and the box has to be read. What a sink copies
   * without reading (`ByteSink.copyFrom`).
   */
  locate(fqn: string, box: Box): Promise<StoredRange[] | undefined>;
  /** One saved chunk, exactly as stored (global position: `entries()[..].chunks[chunkIndex]`). */
  readChunk(fqn: string, chunkIndex: number): Promise<Tensor>;
  /** A BYTE_IO value (tensors inside it are materialised). */
  readValue(fqn: string): Promise<PyValue>;
  /** Every entry (or `fqns`), nested again with `planner_data`. */
  readStateDict(opts?: { fqns?: readonly string[] }): Promise<Map<string, unknown>>;
  /** The data files and their sizes. */
  files(): Promise<DcpFileInfo[]>;
  /** Closes the data files. */
  close(): Promise<void>;
}

/** Reads `dir/.metadata` (or merges rank-local `__<r>.metadata` files) and checks the layout. */
export async function openDcp(storage: Storage, dir: string, opts: OpenDcpOptions = {}): Promise<DcpCheckpoint> {
  const { metadata, metadataPath } = await readMetadata(storage, dir, resolveLimits(opts.limits));
  checkLayout(metadata, { path: metadataPath });
  const sizes = opts.checkFiles === false ? undefined : await checkItemRanges(storage, dir, metadata);
  return new Checkpoint(storage, dir, metadata, metadataPath, sizes, opts.limits);
}

async function readMetadata(
  storage: Storage,
  dir: string,
  limits: Limits,
): Promise<{ metadata: DcpMetadata; metadataPath: string }> {
  const metadataPath = joinPath(dir, METADATA_FILE);
  const read = async (p: string) =>
    decodeMetadata(await readAllWithin(storage, p, limits, "maxMetadataBytes"), p, limits);
  if (await storage.stat(metadataPath)) return { metadata: await read(metadataPath), metadataPath };
  const names = (await storage.list(dir) ?? [])
    .filter((e) => e.kind === "file" && /^__\d+\.metadata$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => parseInt(a.slice(2)) - parseInt(b.slice(2)));
  if (names.length === 0) {
    throw new StorageError("E_NOT_FOUND", "no .metadata (not a DCP checkpoint, or an unfinished save)", {
      path: metadataPath,
    });
  }
  const parts = [];
  for (const n of names) parts.push(await read(joinPath(dir, n)));
  return { metadata: mergeMetadata(parts, joinPath(dir, names[0])), metadataPath: joinPath(dir, names[0]) };
}

class Checkpoint implements DcpCheckpoint {
  #sources = new Map<string, Promise<ByteSource>>();
  #archives = new Map<string, Promise<TorchArchive>>();

  constructor(
    private readonly storage: Storage,
    readonly dir: string,
    readonly metadata: DcpMetadata,
    private readonly metadataPath: string,
    private readonly sizes: Map<string, number> | undefined,
    private readonly limits: Partial<Limits> | undefined,
  ) {}

  entries(): DcpEntry[] {
    const item = (fqn: string, offsets: number[] | null) => {
      const info = this.metadata.storageData.get(storageKey(fqn, offsets))?.info;
      return info && { file: joinPath(this.dir, info.relativePath), offset: info.offset, length: info.length };
    };
    return [...this.metadata.stateDictMetadata].map(([name, e]): DcpEntry => {
      const path = this.metadata.plannerData?.get(name) ?? [name];
      if (e.kind === "bytes") {
        const stored = item(name, null);
        return { kind: "value", name, bytes: stored?.length ?? 0, stored, path };
      }
      const chunks = e.chunks.map((c) => {
        const stored = item(name, c.offsets);
        invariant(stored, "checkLayout at open proved every chunk has its item");
        return { ...c, ...stored };
      });
      return {
        kind: "tensor",
        name,
        dtype: e.dtype,
        shape: [...e.size],
        chunks,
        bytes: byteSize(e.dtype, e.size),
        path,
      };
    });
  }

  async readTensor(fqn: string, box?: Box, out?: Uint8Array): Promise<Tensor> {
    const ctx = this.#planContext(fqn);
    const e = ctx.entry;
    const want = box ?? wholeBox(e.size);
    checkBox(fqn, e, want);
    const isz = itemsize(e.dtype);
    const bytes = boxNumel(want) * isz;
    if (out !== undefined && out.byteLength !== bytes) {
      throw new UsageError("E_USAGE", `destination holds ${out.byteLength} bytes, '${fqn}' box needs ${bytes}`);
    }
    checkResultSize(ctx, bytes, "the requested box", out !== undefined);
    const parts = planBoxRead(ctx, want);
    // Slicing checks each item against its file's real size, which openDcp skips under checkFiles: false;
    // item lengths are believed only after that, and before the result is allocated.
    if (this.sizes === undefined) { for (const p of parts) await this.#itemSource(p.item); }
    const local = (chunk: number, region: Box) => {
      const c = e.chunks[chunk];
      return { offsets: region.offsets.map((o, d) => o - c.offsets[d]), sizes: region.sizes };
    };
    if (parts.length === 1) {
      // One chunk covers the whole request: its read is the result, no second buffer and no copy.
      const { chunk, region } = parts[0];
      const piece = await this.#readItemBox(fqn, e, chunk, local(chunk, region), out);
      return { dtype: e.dtype, shape: [...want.sizes], data: piece.data };
    }
    const data = out ?? new Uint8Array(bytes);
    for (const { chunk, region } of parts) {
      const start = runStart(region, want);
      if (start !== undefined) {
        const into = data.subarray(start * isz, (start + boxNumel(region)) * isz);
        await this.#readItemBox(fqn, e, chunk, local(chunk, region), into);
      } else {
        const piece = await this.#readItemBox(fqn, e, chunk, local(chunk, region));
        copyBox(piece.data, region, data, want, region, isz);
      }
    }
    return { dtype: e.dtype, shape: [...want.sizes], data };
  }

  async locate(fqn: string, box: Box): Promise<StoredRange[] | undefined> {
    const ctx = this.#planContext(fqn);
    checkBox(fqn, ctx.entry, box);
    const parts = [];
    for (const p of planBoxRead(ctx, box)) {
      const start = runStart(p.region, box);
      if (start === undefined) return undefined;
      parts.push({ ...p, start });
    }
    parts.sort((a, b) => a.start - b.start);
    const ranges: StoredRange[] = [];
    for (const { chunk, region } of parts) {
      const c = ctx.entry.chunks[chunk];
      const local = { offsets: region.offsets.map((o, d) => o - c.offsets[d]), sizes: region.sizes };
      const { archive, ref } = await this.#chunkArchive(fqn, ctx.entry, chunk);
      const range = archive.storedRange(ref, local);
      if (range === undefined) return undefined;
      ranges.push(range);
    }
    return ranges;
  }

  async readChunk(fqn: string, chunkIndex: number): Promise<Tensor> {
    const ctx = this.#planContext(fqn);
    const e = ctx.entry;
    const c = e.chunks[chunkIndex];
    if (!Number.isInteger(chunkIndex) || c === undefined) {
      throw new UsageError("E_USAGE", `'${fqn}' has ${e.chunks.length} chunks, not index ${chunkIndex}`);
    }
    checkResultSize(ctx, boxNumel(c) * itemsize(e.dtype), `chunk ${chunkIndex}`, false);
    checkChunkItem(ctx, chunkIndex, this.#item(fqn, c.offsets));
    return await this.#readItemBox(fqn, e, chunkIndex, wholeBox(c.sizes));
  }

  async readValue(fqn: string): Promise<PyValue> {
    const e = this.metadata.stateDictMetadata.get(fqn);
    if (!e) throw new UsageError("E_MISSING_KEY", `'${fqn}' is not in the checkpoint`);
    if (e.kind !== "bytes") throw new UsageError("E_USAGE", `'${fqn}' is a tensor; use readTensor`);
    const item = this.#item(fqn, null);
    return await loadTorch(await this.#itemSource(item), {
      path: this.#filePath(item),
      baseOffset: item.info.offset,
      limits: this.limits,
    });
  }

  async readStateDict(opts: { fqns?: readonly string[] } = {}): Promise<Map<string, unknown>> {
    const fqns = opts.fqns ?? [...this.metadata.stateDictMetadata.keys()];
    const flat = new Map<string, StateLeaf>();
    for (const fqn of fqns) {
      const e = this.metadata.stateDictMetadata.get(fqn);
      if (!e) throw new UsageError("E_MISSING_KEY", `'${fqn}' is not in the checkpoint`);
      flat.set(fqn, e.kind === "tensor" ? await this.readTensor(fqn) : await this.readValue(fqn));
    }
    return unflattenStateDict(flat, this.metadata.plannerData);
  }

  async files(): Promise<DcpFileInfo[]> {
    const out: DcpFileInfo[] = [];
    const seen = new Set<string>();
    for (const item of this.metadata.storageData.values()) {
      const rel = itemFile(item.info.relativePath, this.metadataPath);
      if (seen.has(rel)) continue;
      seen.add(rel);
      const size = this.sizes?.get(rel) ?? (await this.storage.stat(joinPath(this.dir, rel)))?.size;
      if (size === undefined) {
        throw new StorageError("E_NOT_FOUND", "data file is missing", { path: joinPath(this.dir, rel) });
      }
      out.push({ relativePath: rel, size });
    }
    return out;
  }

  async close(): Promise<void> {
    const sources = [...this.#sources.values()];
    this.#sources.clear();
    this.#archives.clear();
    for (const s of await Promise.allSettled(sources)) if (s.status === "fulfilled") await s.value.close();
  }

  #planContext(fqn: string): ReadPlanContext {
    return {
      fqn,
      entry: this.#tensorEntry(fqn),
      itemOf: (offsets) => this.#item(fqn, offsets),
      filePath: (item) => this.#filePath(item),
      metadataPath: this.metadataPath,
    };
  }

  #tensorEntry(fqn: string): TensorEntryMeta {
    const e = this.metadata.stateDictMetadata.get(fqn);
    if (!e) throw new UsageError("E_MISSING_KEY", `'${fqn}' is not in the checkpoint`);
    if (e.kind !== "tensor") throw new UsageError("E_USAGE", `'${fqn}' is a BYTE_IO value; use readValue`);
    return e;
  }

  #item(fqn: string, offsets: number[] | null): StorageEntry {
    const item = this.metadata.storageData.get(storageKey(fqn, offsets));
    if (!item) throw new FormatError("E_METADATA", `no storage_data item for '${fqn}'`, { path: this.metadataPath });
    return item;
  }

  #filePath(item: StorageEntry): string {
    return joinPath(this.dir, itemFile(item.info.relativePath, this.metadataPath));
  }

  async #itemSource(item: StorageEntry): Promise<ByteSource> {
    const path = this.#filePath(item);
    rejectTransforms(item, path);
    let source = this.#sources.get(path);
    if (!source) {
      source = this.storage.open(path);
      this.#sources.set(path, source);
    }
    return sliceSource(await source, item.info.offset, item.info.length);
  }

  async #readItemBox(
    fqn: string,
    e: TensorEntryMeta,
    chunkIndex: number,
    local: Box,
    out?: Uint8Array,
  ): Promise<Tensor> {
    const { archive, ref } = await this.#chunkArchive(fqn, e, chunkIndex);
    return await archive.readTensor(ref, local, out);
  }

  /** The opened archive of a chunk's item and its tensor, checked against the chunk's dtype and shape. */
  async #chunkArchive(
    fqn: string,
    e: TensorEntryMeta,
    chunkIndex: number,
  ): Promise<{ archive: TorchArchive; ref: TensorRef }> {
    const c = e.chunks[chunkIndex];
    const item = this.#item(fqn, c.offsets);
    const key = storageKey(fqn, c.offsets);
    let archive = this.#archives.get(key);
    if (!archive) {
      archive = this.#itemSource(item).then((src) =>
        openTorchArchive(src, { path: this.#filePath(item), baseOffset: item.info.offset })
      );
      this.#archives.set(key, archive);
    }
    const arc = await archive;
    const ref = arc.value;
    const where = { path: this.#filePath(item), offset: item.info.offset };
    if (!isTensorRef(ref)) throw new FormatError("E_TORCH_ARCHIVE", `item of '${fqn}' does not hold a tensor`, where);
    if (ref.dtype !== e.dtype) {
      throw new FormatError("E_DTYPE", `item of '${fqn}' holds ${ref.dtype}, .metadata says ${e.dtype}`, where);
    }
    if (ref.shape.length !== c.sizes.length || ref.shape.some((s, d) => s !== c.sizes[d])) {
      throw new FormatError("E_SHAPE", `item of '${fqn}' has shape [${ref.shape}], its chunk is [${c.sizes}]`, where);
    }
    return { archive: arc, ref };
  }
}
