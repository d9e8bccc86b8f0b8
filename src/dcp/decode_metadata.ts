/**
 * `.metadata` bytes -> `DcpMetadata`: unpickle with the DCP allow-list, turn the raw records into plain
 * data, then let one zod schema decide what is a valid checkpoint description (parse, don't validate).
 */
import { z } from "zod";
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
 * The copy is a tree, built with a work list (no recursion): shared objects are copied each time they are
 * met, within a node budget, and an object met again inside itself (a cycle) is refused.
 */
function toPlain(root: unknown, budget: number, path: string): unknown {
  const fail = (what: string) => new FormatError("E_METADATA", `.metadata ${what}`, { path });
  const out: unknown[] = [undefined];
  // A task copies `value` into `into[at]`; `leave` marks the end of an object's contents (for cycles).
  type Task = { value: unknown; into: unknown[] | Record<string, unknown>; at: number | string; depth: number };
  const todo: Array<Task | { leave: object }> = [{ value: root, into: out, at: 0, depth: 0 }];
  const open = new Set<object>();
  while (todo.length > 0) {
    const task = todo.pop()!;
    if ("leave" in task) {
      open.delete(task.leave);
      continue;
    }
    const { value: v, depth } = task;
    if (depth > MAX_DEPTH) throw fail("nests too deeply");
    if (--budget < 0) throw fail("expands to too many values (shared objects nested in each other)");
    // Defined, not assigned: a field named `__proto__` is an ordinary (unknown, so dropped) key, not a prototype.
    const set = (x: unknown) =>
      Object.defineProperty(task.into, task.at, { value: x, enumerable: true, writable: true, configurable: true });
    if (typeof v !== "object" || v === null) {
      set(v);
      continue;
    }
    if (open.has(v)) throw fail("holds a value inside itself (a cycle)");
    const children: Array<[unknown, unknown[] | Record<string, unknown>, number | string]> = [];
    if (v instanceof PickledRecord) {
      const rec: Record<string, unknown> = { $class: v.className };
      if (v.state instanceof Map) {
        for (const [k, x] of v.state) if (typeof k === "string" && !k.startsWith("$")) children.push([x, rec, k]);
      } else if (v.state !== undefined) children.push([v.state, rec, "$state"]);
      set(rec);
    } else if (v instanceof DtypeToken) set({ $dtype: v.dtype });
    else if (v instanceof LayoutToken) set({ $layout: v.name });
    else if (v instanceof MemFormatToken) set({ $mem: v.value });
    else if (v instanceof PyFloat) set(v.value);
    else if (v instanceof PyTuple || Array.isArray(v)) {
      const items: unknown[] = v instanceof PyTuple ? v.items : v;
      const list = new Array<unknown>(items.length);
      items.forEach((x, i) => children.push([x, list, i]));
      set(list);
    } else if (v instanceof Map) {
      const pairs: unknown[][] = [];
      for (const [k, x] of v) {
        const pair = [undefined, undefined];
        pairs.push(pair);
        children.push([k, pair, 0], [x, pair, 1]);
      }
      set({ $map: pairs });
    } else set(v);
    if (children.length === 0) continue;
    open.add(v);
    todo.push({ leave: v });
    for (let i = children.length - 1; i >= 0; i--) {
      const [value, into, at] = children[i];
      todo.push({ value, into, at, depth: depth + 1 });
    }
  }
  return out[0];
}

const int = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const intList = z.array(int);
const mapOf = <K extends z.ZodType, V extends z.ZodType>(k: K, v: V) => z.object({ $map: z.array(z.tuple([k, v])) });

const dtype = z.object({ $dtype: z.custom<DType>((s) => typeof s === "string" && isDType(s), "unknown dtype") });
const layout = z.object({ $layout: z.literal("torch.strided") });
const memFormat = z.object({ $mem: z.number() });
const props5 = z.tuple([dtype, layout, z.boolean(), memFormat, z.boolean()]);
const props6 = z.tuple([dtype, layout, z.boolean(), memFormat, z.boolean(), z.array(z.number().int()).nullable()]);
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
  offset: intList.nullish(),
  index: int.nullish(),
});
const storageInfo = z.object({
  $class: z.literal("_StorageInfo"),
  relative_path: z.string(),
  offset: int,
  length: int,
  transform_descriptors: z.array(z.string()).nullish(),
});
const storageMeta = z.object({
  $class: z.literal("StorageMeta"),
  checkpoint_id: z.string().nullish(),
  save_id: z.string().nullish(),
  load_id: z.string().nullish(),
  modules: z.array(z.string()).nullish(),
});
const metadataSchema = z.object({
  $class: z.literal("Metadata"),
  state_dict_metadata: mapOf(z.string(), entry),
  planner_data: mapOf(z.string(), z.array(z.union([z.string(), int]))).nullish(),
  storage_data: mapOf(metadataIndex, storageInfo),
  storage_meta: storageMeta.nullish(),
  version: z.string().nullish(),
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
