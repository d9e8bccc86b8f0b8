/**
 * `.metadata` bytes -> `DcpMetadata`: unpickle with the DCP allow-list, turn the raw records into plain
 * data, then let one zod schema decide what is a valid checkpoint description (parse, don't validate).
 */
import * as z from "../schema/mod.ts";
import { isDType } from "../dtype/mod.ts";
import type { DType } from "../dtype/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { checkLimit, type Limits, resolveLimits } from "../limits/mod.ts";
import { decodePickle } from "../pickle/mod.ts";
import { PyFloat, PyTuple } from "../pickle/mod.ts";
import type { DcpMetadata, EntryMeta, MemoryFormat, StorageEntry } from "./metadata.ts";
import { storageKey } from "./metadata.ts";
import { DtypeToken, LayoutToken, MemFormatToken, metadataGlobals, PickledRecord } from "./metadata_globals.ts";

/**
 * Decodes a `.metadata` pickle into `DcpMetadata`: only the allow-listed DCP classes, under the limits on
 * untrusted input (`Limits`), a zod schema at the boundary (E_METADATA, E_PICKLE_GLOBAL naming `path`).
 */
export function decodeMetadata(bytes: Uint8Array, path: string, overrides?: Partial<Limits>): DcpMetadata {
  const limits = resolveLimits(overrides);
  checkLimit(limits, "maxMetadataBytes", bytes.byteLength, ".metadata bytes", { path, offset: 0 });
  const raw = decodePickle(bytes, { globals: metadataGlobals, path, limits });
  const budget = MAX_NODES_PER_BYTE * bytes.byteLength + MIN_NODE_BUDGET;
  const parsed = metadataSchema.safeParse(toPlain(raw, budget, path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FormatError(
      "E_METADATA",
      `.metadata does not describe a DCP checkpoint: ${issue.message} at ${issue.path.join(".") || "<root>"}`,
      { path },
    );
  }
  return toModel(parsed.data, path, limits);
}

const MAX_DEPTH = 64;
/**
 * A pickle shares an object by memo reference (2 bytes), so `(x, x)` nested n deep is 2n bytes but 2^n
 * nodes once copied. Real `.metadata` copies to about one node per 7 bytes (torch shares only small things
 * like a `torch.Size`), so 4 per byte is ample, and the copy that zod walks is bounded with it.
 */
const MAX_NODES_PER_BYTE = 4;
const MIN_NODE_BUDGET = 1024;

/**
 * Records become `{ $class, ...fields }`, dicts `{ $map: [[k, v], ...] }` (keys may be records), tuples arrays.
 * The copy is a tree: shared objects are copied each time they are met, within a node budget, and an object
 * met again inside itself (a cycle) is refused. Recursive, as the depth is bounded (MAX_DEPTH) before the
 * call stack could be: a work list of tasks and closures per value took as long as the unpickling.
 */
function toPlain(root: unknown, budget: number, path: string): unknown {
  const fail = (what: string) => new FormatError("E_METADATA", `.metadata ${what}`, { path });
  const open: object[] = []; // the objects whose contents are being copied
  const copy = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw fail("nests too deeply");
    if (--budget < 0) throw fail("expands to too many values (shared objects nested in each other)");
    if (typeof v !== "object" || v === null) return v;
    if (open.includes(v)) throw fail("holds a value inside itself (a cycle)");
    if (v instanceof PickledRecord) {
      const rec: Record<string, unknown> = { $class: v.className };
      open.push(v);
      if (v.state instanceof Map) {
        for (const [k, x] of v.state) {
          if (typeof k !== "string" || k.startsWith("$")) continue;
          // Defined, not assigned: a field named `__proto__` is an ordinary (unknown, so dropped) key, not a prototype.
          if (k === "__proto__") {
            Object.defineProperty(rec, k, {
              value: copy(x, depth + 1),
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else rec[k] = copy(x, depth + 1);
        }
      } else if (v.state !== undefined) rec.$state = copy(v.state, depth + 1);
      open.pop();
      return rec;
    }
    if (v instanceof DtypeToken) return { $dtype: v.dtype };
    if (v instanceof LayoutToken) return { $layout: v.name };
    if (v instanceof MemFormatToken) return { $mem: v.value };
    if (v instanceof PyFloat) return v.value;
    if (v instanceof PyTuple || Array.isArray(v)) {
      const items: unknown[] = v instanceof PyTuple ? v.items : v;
      const list = new Array<unknown>(items.length);
      open.push(v);
      for (let i = 0; i < items.length; i++) list[i] = copy(items[i], depth + 1);
      open.pop();
      return list;
    }
    if (v instanceof Map) {
      const pairs: unknown[][] = [];
      open.push(v);
      for (const [k, x] of v) pairs.push([copy(k, depth + 1), copy(x, depth + 1)]);
      open.pop();
      return { $map: pairs };
    }
    return v;
  };
  return copy(root, 0);
}

// z.int() is a safe integer (|n| <= 2^53 - 1) in zod 4: no bound of its own is needed.
const int = z.number().check(z.int(), z.nonnegative());
const intList = z.array(int);
const mapOf = <K extends z.ZodMiniType, V extends z.ZodMiniType>(k: K, v: V) =>
  z.object({ $map: z.array(z.tuple([k, v])) });

const dtype = z.object({ $dtype: z.custom<DType>((s) => typeof s === "string" && isDType(s), "unknown dtype") });
const layout = z.object({ $layout: z.literal("torch.strided") });
const memFormat = z.object({ $mem: z.number() });
const props5 = z.tuple([dtype, layout, z.boolean(), memFormat, z.boolean()]);
const props6 = z.tuple([
  dtype,
  layout,
  z.boolean(),
  memFormat,
  z.boolean(),
  z.nullable(z.array(z.number().check(z.int()))),
]);
const tensorProperties = z.object({ $class: z.literal("TensorProperties"), $state: z.union([props5, props6]) });

const chunk = z.object({ $class: z.literal("ChunkStorageMetadata"), offsets: intList, sizes: intList });
const tensorMeta = z.object({
  $class: z.literal("TensorStorageMetadata"),
  properties: tensorProperties,
  size: intList,
  chunks: z.array(chunk),
});
const bytesMeta = z.object({ $class: z.literal("BytesStorageMetadata") });
const entry = z.discriminatedUnion("$class", [tensorMeta, bytesMeta]);

const metadataIndex = z.object({
  $class: z.literal("MetadataIndex"),
  fqn: z.string(),
  offset: z.nullish(intList),
  index: z.nullish(int),
});
const storageInfo = z.object({
  $class: z.literal("_StorageInfo"),
  relative_path: z.string(),
  offset: int,
  length: int,
  transform_descriptors: z.nullish(z.array(z.string())),
});
const storageMeta = z.object({
  $class: z.literal("StorageMeta"),
  checkpoint_id: z.nullish(z.string()),
  save_id: z.nullish(z.string()),
  load_id: z.nullish(z.string()),
  modules: z.nullish(z.array(z.string())),
});
const metadataSchema = z.object({
  $class: z.literal("Metadata"),
  state_dict_metadata: mapOf(z.string(), entry),
  planner_data: z.nullish(mapOf(z.string(), z.array(z.union([z.string(), int])))),
  storage_data: mapOf(metadataIndex, storageInfo),
  storage_meta: z.nullish(storageMeta),
  version: z.nullish(z.string()),
});
type ParsedMetadata = z.infer<typeof metadataSchema>;

const MEMORY_FORMATS: MemoryFormat[] = ["contiguous", "channels_last", "preserve"];

function toModel(m: ParsedMetadata, path: string, limits: Limits): DcpMetadata {
  const stateDictMetadata = new Map<string, EntryMeta>();
  const where = { path, offset: 0 };
  checkLimit(limits, "maxTensors", m.state_dict_metadata.$map.length, "entries in state_dict_metadata", where);
  for (const [fqn, e] of m.state_dict_metadata.$map) {
    checkLimit(limits, "maxNameLength", fqn.length, "length of a name in state_dict_metadata", where);
    if (e.$class === "BytesStorageMetadata") {
      stateDictMetadata.set(fqn, { kind: "bytes" });
      continue;
    }
    checkLimit(limits, "maxChunksPerTensor", e.chunks.length, `chunks of '${fqn.slice(0, 200)}'`, where);
    const [dt, , requiresGrad, mem, pinMemory, strides] = e.properties.$state;
    const memoryFormat = MEMORY_FORMATS[mem.$mem];
    if (memoryFormat === undefined) {
      throw new FormatError("E_METADATA", `'${fqn}' has memory format encoding ${mem.$mem}`, { path });
    }
    stateDictMetadata.set(fqn, {
      kind: "tensor",
      dtype: dt.$dtype,
      size: e.size,
      chunks: e.chunks.map((c) => ({ offsets: c.offsets, sizes: c.sizes })),
      requiresGrad,
      pinMemory,
      memoryFormat,
      strides: strides ?? null,
    });
  }
  // Each planner_data path element is one level of the nested state dict rebuilt from it.
  for (const [, p] of m.planner_data?.$map ?? []) {
    checkLimit(limits, "maxDepth", p.length, "planner_data path length", where);
  }
  const plannerData = m.planner_data ? new Map(m.planner_data.$map) : null;
  const storageData = new Map<string, StorageEntry>();
  for (const [k, info] of m.storage_data.$map) {
    const offsets = k.offset ?? null;
    const key = storageKey(k.fqn, offsets);
    if (storageData.has(key)) {
      throw new FormatError("E_METADATA", `storage_data names '${k.fqn}' at [${offsets ?? ""}] twice`, { path });
    }
    storageData.set(key, {
      fqn: k.fqn,
      offsets,
      index: k.index ?? null,
      info: {
        relativePath: info.relative_path,
        offset: info.offset,
        length: info.length,
        ...(info.transform_descriptors ? { transformDescriptors: info.transform_descriptors } : {}),
      },
    });
  }
  const sm = m.storage_meta;
  return {
    stateDictMetadata,
    plannerData,
    storageData,
    storageMeta: sm
      ? {
        checkpointId: sm.checkpoint_id ?? null,
        saveId: sm.save_id ?? null,
        loadId: sm.load_id ?? null,
        modules: sm.modules ?? [],
      }
      : null,
    version: m.version ?? null,
  };
}
