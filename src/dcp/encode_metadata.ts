/**
 * `DcpMetadata` -> `.metadata` bytes, shaped as PyTorch 2.15 on CPython 3.11 pickles its `Metadata`
 * dataclasses: newest module paths, `_MEM_FORMAT_ENCODING` in value form, state dicts in `__init__`
 * field order, `MetadataIndex.offset` and `_StorageInfo.transform_descriptors` only when set.
 */
import { encodePickle } from "../pickle/mod.ts";
import { PyGlobal, PyObject, PyReduce, tuple } from "../pickle/mod.ts";
import type { PyValue } from "../pickle/mod.ts";
import type { DcpMetadata, EntryMeta, MemoryFormat, StorageEntry, StorageMeta } from "./metadata.ts";

/** Options of `encodeMetadata`. */
export interface EncodeMetadataOptions {
  /** Pickle protocol: 4 (default) as CPython 3.8-3.13 writes it, or 2 for the most conservative readers. */
  protocol?: 2 | 4;
}

const METADATA = "torch.distributed.checkpoint.metadata";
const FILESYSTEM = "torch.distributed.checkpoint.filesystem";
const MEMORY_FORMAT_CODES: Record<MemoryFormat, number> = { contiguous: 0, channels_last: 1, preserve: 2 };

/** Encodes `DcpMetadata` as the protocol-4 pickle torch writes (`torch.load`-able, same globals in the same order). */
export function encodeMetadata(meta: DcpMetadata, opts: EncodeMetadataOptions = {}): Uint8Array {
  const sdm = new Map<PyValue, PyValue>();
  for (const [fqn, e] of meta.stateDictMetadata) sdm.set(fqn, entryValue(e));
  let planner: PyValue = null;
  if (meta.plannerData) {
    const pd = new Map<PyValue, PyValue>();
    for (const [fqn, path] of meta.plannerData) pd.set(fqn, tuple(...path));
    planner = pd;
  }
  const storage = new Map<PyValue, PyValue>();
  for (const s of meta.storageData.values()) storage.set(indexValue(s), storageInfoValue(s));
  const root = dataclass("Metadata", [
    ["state_dict_metadata", sdm],
    ["planner_data", planner],
    ["storage_data", storage],
    ["storage_meta", meta.storageMeta ? storageMetaValue(meta.storageMeta) : null],
    ["version", meta.version],
  ]);
  return encodePickle(root, { protocol: opts.protocol ?? 4 });
}

function dataclass(name: string, fields: [string, PyValue][], module = METADATA): PyObject {
  return new PyObject(new PyGlobal(module, name), new Map<PyValue, PyValue>(fields));
}

function size(dims: readonly number[]): PyReduce {
  return new PyReduce(new PyGlobal("torch", "Size"), tuple(tuple(...dims)));
}

function entryValue(e: EntryMeta): PyValue {
  if (e.kind === "bytes") return new PyObject(new PyGlobal(METADATA, "BytesStorageMetadata"));
  const props: PyValue[] = [
    new PyGlobal("torch", e.dtype),
    new PyReduce(new PyGlobal("torch.serialization", "_get_layout"), tuple("torch.strided")),
    e.requiresGrad,
    new PyReduce(new PyGlobal(METADATA, "_MEM_FORMAT_ENCODING"), tuple(MEMORY_FORMAT_CODES[e.memoryFormat])),
    e.pinMemory,
  ];
  // PyTorch >= 2.15 appends the local strides; its __setstate__ still accepts the older 5-tuple.
  if (e.strides !== null) props.push(tuple(...e.strides));
  return dataclass("TensorStorageMetadata", [
    ["properties", new PyObject(new PyGlobal(METADATA, "TensorProperties"), tuple(...props))],
    ["size", size(e.size)],
    [
      "chunks",
      e.chunks.map((c) => dataclass("ChunkStorageMetadata", [["offsets", size(c.offsets)], ["sizes", size(c.sizes)]])),
    ],
  ]);
}

function indexValue(s: StorageEntry): PyObject {
  const fields: [string, PyValue][] = [["fqn", s.fqn], ["index", s.index]];
  if (s.offsets !== null) fields.push(["offset", size(s.offsets)]);
  return dataclass("MetadataIndex", fields);
}

function storageInfoValue(s: StorageEntry): PyObject {
  const fields: [string, PyValue][] = [
    ["relative_path", s.info.relativePath],
    ["offset", s.info.offset],
    ["length", s.info.length],
  ];
  if (s.info.transformDescriptors) fields.push(["transform_descriptors", [...s.info.transformDescriptors]]);
  return dataclass("_StorageInfo", fields, FILESYSTEM);
}

function storageMetaValue(m: StorageMeta): PyObject {
  return dataclass("StorageMeta", [
    ["checkpoint_id", m.checkpointId],
    ["save_id", m.saveId],
    ["load_id", m.loadId],
    ["modules", [...m.modules]],
  ]);
}
