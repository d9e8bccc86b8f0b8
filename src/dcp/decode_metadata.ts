/**
 * `.metadata` bytes -> `DcpMetadata`: unpickle with the DCP allow-list, then one typed walk from the root
 * `Metadata` record that checks each value where the model needs it and builds the model as it goes (parse,
 * don't validate). The walk follows the model's fixed shape (Metadata -> entry -> properties and chunks), so
 * it never recurses on the input's own depth and cannot meet a cycle; it copies what it keeps, so a value the
 * pickle shares is walked each time it is met, within a budget tied to the file's size.
 */
import { FormatError } from "../errors/mod.ts";
import { checkLimit, type Limits, resolveLimits } from "../limits/mod.ts";
import { decodePickle, PyTuple } from "../pickle/mod.ts";
import type {
  DcpMetadata,
  EntryMeta,
  MemoryFormat,
  StatePath,
  StorageEntry,
  StorageInfo,
  StorageMeta,
  TensorEntryMeta,
} from "./metadata.ts";
import type { Box } from "../tensor/mod.ts";
import { storageKey } from "./metadata.ts";
import { DtypeToken, LayoutToken, MemFormatToken, metadataGlobals, PickledRecord } from "./metadata_globals.ts";

/**
 * Decodes a `.metadata` pickle into `DcpMetadata`: only the allow-listed DCP classes, under the limits on
 * untrusted input (`Limits`); E_METADATA (naming `path`) for anything that is not a DCP checkpoint description.
 */
export function decodeMetadata(bytes: Uint8Array, path: string, overrides?: Partial<Limits>): DcpMetadata {
  const limits = resolveLimits(overrides);
  checkLimit(limits, "maxMetadataBytes", bytes.byteLength, ".metadata bytes", { path, offset: 0 });
  const root = decodePickle(bytes, { globals: metadataGlobals, path, limits });
  return new ModelReader(path, limits, MAX_NODES_PER_BYTE * bytes.byteLength + MIN_NODE_BUDGET).metadata(root);
}

/**
 * A pickle shares an object by memo reference (2 bytes), so one chunk list met by n entries is walked n
 * times. Real `.metadata` walks to about one node per 11 bytes (a 4-rank checkpoint of 75 tensors: 4943 nodes
 * for 56 843 bytes; torch shares only small things like a dtype), so 4 per byte is ample.
 */
const MAX_NODES_PER_BYTE = 4;
const MIN_NODE_BUDGET = 1024;

const MEMORY_FORMATS: readonly MemoryFormat[] = ["contiguous", "channels_last", "preserve"];
const NO_FIELDS: ReadonlyMap<unknown, unknown> = new Map();

/** Python's name for a decoded value's type, for error messages. */
function pyType(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v !== "object") return typeof v === "number" ? "a number" : `a ${typeof v}`;
  if (v instanceof PickledRecord) return `a ${v.className}`;
  if (v instanceof PyTuple) return "a tuple";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Map) return "a dict";
  return `a ${v.constructor?.name ?? "object"}`;
}

/** Reads the unpickled value graph as the model; every check is one line and one E_METADATA error. */
class ModelReader {
  /** The entry being read, named in errors. */
  private fqn = "";

  constructor(private readonly path: string, private readonly limits: Limits, private budget: number) {}

  metadata(root: unknown): DcpMetadata {
    const where = { path: this.path, offset: 0 };
    const m = this.fields(root, "Metadata", ".metadata");
    const sdm = this.dict(m.get("state_dict_metadata"), "Metadata.state_dict_metadata");
    checkLimit(this.limits, "maxTensors", sdm.size, "entries in state_dict_metadata", where);
    const stateDictMetadata = new Map<string, EntryMeta>();
    // forEach, not `for (const [k, v] of map)`: unoptimised code destructures each pair through the iterator protocol.
    sdm.forEach((e, fqn) => {
      this.fqn = this.str(fqn, "a state_dict_metadata key");
      checkLimit(this.limits, "maxNameLength", this.fqn.length, "length of a name in state_dict_metadata", where);
      stateDictMetadata.set(this.fqn, this.entry(e));
    });
    this.fqn = "";
    return {
      stateDictMetadata,
      plannerData: this.plannerData(m.get("planner_data")),
      storageData: this.storageData(this.dict(m.get("storage_data"), "Metadata.storage_data")),
      storageMeta: this.storageMeta(m.get("storage_meta")),
      version: this.optionalStr(m.get("version"), "Metadata.version"),
    };
  }

  private entry(e: unknown): EntryMeta {
    if (e instanceof PickledRecord && e.className === "BytesStorageMetadata") return this.count({ kind: "bytes" });
    const t = this.fields(e, "TensorStorageMetadata", "a state_dict_metadata value");
    const size = this.uints(t.get("size"), "TensorStorageMetadata.size");
    const chunks = this.list(t.get("chunks"), "TensorStorageMetadata.chunks");
    const where = { path: this.path, offset: 0 };
    checkLimit(this.limits, "maxChunksPerTensor", chunks.length, `chunks of '${this.fqn.slice(0, 200)}'`, where);
    const boxes = new Array<{ offsets: number[]; sizes: number[] }>(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const c = this.fields(chunks[i], "ChunkStorageMetadata", "an item of TensorStorageMetadata.chunks");
      boxes[i] = {
        offsets: this.uints(c.get("offsets"), "ChunkStorageMetadata.offsets"),
        sizes: this.uints(c.get("sizes"), "ChunkStorageMetadata.sizes"),
      };
    }
    return this.tensor(t.get("properties"), size, boxes);
  }

  /** The entry of a tensor with `TensorProperties` p, pickled as the tuple its `__getstate__` returns (5 fields, 6 since strides). */
  private tensor(p: unknown, size: number[], chunks: Box[]): TensorEntryMeta {
    if (!(p instanceof PickledRecord) || p.className !== "TensorProperties") {
      throw this.fail(`TensorStorageMetadata.properties is ${pyType(p)}, not a TensorProperties`);
    }
    const s = this.list(p.state, "the state of TensorProperties");
    if (s.length !== 5 && s.length !== 6) throw this.fail(`TensorProperties has ${s.length} fields, not 5 or 6`);
    const dtype = s[0], layout = s[1], mem = s[3], strides = s[5];
    if (!(dtype instanceof DtypeToken)) throw this.fail(`TensorProperties.dtype is ${pyType(dtype)}, not a dtype`);
    if (!(layout instanceof LayoutToken) || layout.name !== "torch.strided") {
      throw this.fail(`TensorProperties.layout is not torch.strided`);
    }
    if (!(mem instanceof MemFormatToken)) throw this.fail(`TensorProperties.memory_format is ${pyType(mem)}`);
    const memoryFormat = MEMORY_FORMATS[mem.value];
    if (memoryFormat === undefined) throw this.fail(`TensorProperties.memory_format has encoding ${mem.value}`);
    return {
      kind: "tensor",
      dtype: dtype.dtype,
      size,
      chunks,
      requiresGrad: this.bool(s[2], "TensorProperties.requires_grad"),
      pinMemory: this.bool(s[4], "TensorProperties.pin_memory"),
      memoryFormat,
      strides: strides === undefined || strides === null ? null : this.ints(strides, "TensorProperties.strides"),
    };
  }

  private plannerData(v: unknown): Map<string, StatePath> | null {
    if (v === undefined || v === null) return null;
    const out = new Map<string, StatePath>();
    this.dict(v, "Metadata.planner_data").forEach((p, fqn) => {
      const key = this.str(fqn, "a planner_data key");
      const items = this.list(p, "a planner_data value");
      // Each path element is one level of the nested state dict rebuilt from it.
      checkLimit(this.limits, "maxDepth", items.length, "planner_data path length", { path: this.path, offset: 0 });
      const path: StatePath = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const x = items[i];
        path[i] = typeof x === "string" ? x : this.uint(x, "a planner_data path element");
      }
      out.set(key, path);
    });
    return out;
  }

  private storageData(d: Map<unknown, unknown>): Map<string, StorageEntry> {
    const out = new Map<string, StorageEntry>();
    d.forEach((v, k) => {
      const index = this.fields(k, "MetadataIndex", "a storage_data key");
      const fqn = this.str(index.get("fqn"), "MetadataIndex.fqn");
      const rawOffsets = index.get("offset");
      const offsets = rawOffsets === undefined || rawOffsets === null
        ? null
        : this.uints(rawOffsets, "MetadataIndex.offset");
      const rawIndex = index.get("index");
      const info = this.fields(v, "_StorageInfo", "a storage_data value");
      const key = storageKey(fqn, offsets);
      if (out.has(key)) throw this.fail(`storage_data names '${fqn}' at [${offsets ?? ""}] twice`);
      const stored: StorageInfo = {
        relativePath: this.str(info.get("relative_path"), "_StorageInfo.relative_path"),
        offset: this.uint(info.get("offset"), "_StorageInfo.offset"),
        length: this.uint(info.get("length"), "_StorageInfo.length"),
      };
      const descriptors = info.get("transform_descriptors");
      if (descriptors !== undefined && descriptors !== null) {
        stored.transformDescriptors = this.strs(descriptors, "_StorageInfo.transform_descriptors");
      }
      out.set(key, {
        fqn,
        offsets,
        index: rawIndex === undefined || rawIndex === null ? null : this.uint(rawIndex, "MetadataIndex.index"),
        info: stored,
      });
    });
    return out;
  }

  private storageMeta(v: unknown): StorageMeta | null {
    if (v === undefined || v === null) return null;
    const s = this.fields(v, "StorageMeta", "Metadata.storage_meta");
    const modules = s.get("modules");
    return {
      checkpointId: this.optionalStr(s.get("checkpoint_id"), "StorageMeta.checkpoint_id"),
      saveId: this.optionalStr(s.get("save_id"), "StorageMeta.save_id"),
      loadId: this.optionalStr(s.get("load_id"), "StorageMeta.load_id"),
      modules: modules === undefined || modules === null ? [] : this.strs(modules, "StorageMeta.modules"),
    };
  }

  /** The fields of a record of `className` (a dataclass pickled with its `__dict__`, or with no state). */
  private fields(v: unknown, className: string, what: string): ReadonlyMap<unknown, unknown> {
    if (!(v instanceof PickledRecord) || v.className !== className) {
      throw this.fail(`${what} is ${pyType(v)}, not a ${className}`);
    }
    this.count(v);
    if (v.state === undefined) return NO_FIELDS;
    if (!(v.state instanceof Map)) throw this.fail(`the state of ${className} is ${pyType(v.state)}, not a dict`);
    return v.state;
  }

  private dict(v: unknown, what: string): Map<unknown, unknown> {
    if (!(v instanceof Map)) throw this.fail(`${what} is ${pyType(v)}, not a dict`);
    return this.count(v);
  }

  /** The items of a list or tuple (torch.Size decodes to its list of ints). */
  private list(v: unknown, what: string): readonly unknown[] {
    const items = Array.isArray(v) ? v : v instanceof PyTuple ? v.items : undefined;
    if (items === undefined) throw this.fail(`${what} is ${pyType(v)}, not a list`);
    if ((this.budget -= items.length + 1) < 0) {
      throw this.fail("expands to too many values (shared objects met more than once)");
    }
    return items;
  }

  /** The items of a list or tuple, each checked and converted by `item`, copied. */
  private listOf<T>(v: unknown, what: string, item: (x: unknown, what: string) => T): T[] {
    const items = this.list(v, what);
    const out = new Array<T>(items.length);
    for (let i = 0; i < items.length; i++) out[i] = item(items[i], what);
    return out;
  }

  /** A list of ints >= 0 (a shape, offsets). */
  private uints(v: unknown, what: string): number[] {
    return this.listOf(v, what, (x) => this.uint(x, what));
  }

  /** A list of ints of either sign (strides). */
  private ints(v: unknown, what: string): number[] {
    return this.listOf(v, what, (x) => {
      if (!Number.isSafeInteger(x)) throw this.fail(`${what} holds ${pyType(x)}, not an int`);
      return x as number;
    });
  }

  private strs(v: unknown, what: string): string[] {
    return this.listOf(v, what, (x) => this.str(x, what));
  }

  /** A Python int >= 0 that is a safe integer (larger ones decode to bigint and are refused). */
  private uint(v: unknown, what: string): number {
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw this.fail(`${what} is ${typeof v === "number" ? v : pyType(v)}, not an int >= 0`);
    }
    return v as number;
  }

  private str(v: unknown, what: string): string {
    if (typeof v !== "string") throw this.fail(`${what} is ${pyType(v)}, not a str`);
    return v;
  }

  private optionalStr(v: unknown, what: string): string | null {
    return v === undefined || v === null ? null : this.str(v, what);
  }

  private bool(v: unknown, what: string): boolean {
    if (typeof v !== "boolean") throw this.fail(`${what} is ${pyType(v)}, not a bool`);
    return v;
  }

  /** Charges one node to the budget. */
  private count<T>(v: T): T {
    if (--this.budget < 0) throw this.fail("expands to too many values (shared objects met more than once)");
    return v;
  }

  private fail(message: string): FormatError {
    const entry = this.fqn === "" ? "" : ` (entry '${this.fqn.slice(0, 200)}')`;
    return new FormatError("E_METADATA", `.metadata does not describe a DCP checkpoint: ${message}${entry}`, {
      path: this.path,
    });
  }
}
