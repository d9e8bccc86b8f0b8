import { encodePickle, PyGlobal, PyPersistent, PyReduce, PyTuple, type PyValue, tuple } from "../../src/pickle/mod.ts";
import { ZipWriter } from "../../src/zip/mod.ts";
import { MemorySink as BufferSink } from "../../src/storage/mod.ts";

/** `_rebuild_tensor_v2` of a FloatStorage-style legacy storage, for hand-made data.pkl files. */
export function rebuildV2(
  storageClass: string,
  key: string,
  storageNumel: number,
  offset: number,
  shape: number[],
  stride: number[],
): PyReduce {
  const pid = new PyPersistent(tuple("storage", new PyGlobal("torch", storageClass), key, "cpu", storageNumel));
  return new PyReduce(
    new PyGlobal("torch._utils", "_rebuild_tensor_v2"),
    tuple(
      pid,
      offset,
      new PyTuple(shape),
      new PyTuple(stride),
      false,
      new PyReduce(new PyGlobal("collections", "OrderedDict"), tuple()),
    ),
  );
}

export interface ArchiveParts {
  pickle: PyValue | Uint8Array;
  storages?: Uint8Array[];
  byteorder?: string;
  version?: string;
  name?: string;
}

/** A torch.save-shaped archive with chosen parts, for cases torch itself would never write. */
export async function buildArchive(parts: ArchiveParts): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const name = parts.name ?? "archive";
  const sink = new BufferSink();
  const zip = new ZipWriter(sink);
  const pkl = parts.pickle instanceof Uint8Array ? parts.pickle : encodePickle(parts.pickle, { protocol: 2 });
  await zip.writeRecord(`${name}/data.pkl`, pkl);
  if (parts.byteorder !== undefined) await zip.writeRecord(`${name}/byteorder`, enc.encode(parts.byteorder));
  for (const [i, s] of (parts.storages ?? []).entries()) await zip.writeRecord(`${name}/data/${i}`, s);
  if (parts.version !== "") await zip.writeRecord(`${name}/version`, enc.encode(parts.version ?? "3\n"));
  await zip.finish();
  return sink.bytes().slice();
}
