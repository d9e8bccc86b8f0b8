import { openDcp, storageKey } from "../dcp/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { byteSize } from "../tensor/mod.ts";
import type { Entry, SourceFile, StoredChunk, TensorSource } from "./tensor_source.ts";

/** A DCP folder as a `TensorSource`, through the DCP layer's reader (box reads touch only needed items). */
export async function openDcpSource(storage: Storage, dir: string, limits?: Partial<Limits>): Promise<TensorSource> {
  const ckpt = await openDcp(storage, dir, { limits });
  const meta = ckpt.metadata;
  const entries: Entry[] = [];
  const paths = new Map<string, (string | number)[]>();
  for (const e of ckpt.entries()) {
    paths.set(e.fqn, e.path);
    if (e.kind === "bytes") {
      const item = meta.storageData.get(storageKey(e.fqn, null));
      const stored = item && { file: joinPath(dir, item.info.relativePath), offset: item.info.offset, length: item.info.length };
      entries.push({ kind: "value", name: e.fqn, bytes: item?.info.length ?? 0, stored });
      continue;
    }
    const chunks: StoredChunk[] = e.chunks!.map((c) => {
      const info = meta.storageData.get(storageKey(e.fqn, c.offsets))!.info;
      return { ...c, file: joinPath(dir, info.relativePath), offset: info.offset, length: info.length };
    });
    entries.push({ kind: "tensor", name: e.fqn, dtype: e.dtype!, shape: e.shape!, chunks, bytes: byteSize(e.dtype!, e.shape!) });
  }
  const files: SourceFile[] = (await ckpt.files()).map((f) => {
    const m = /^__(\d+)_\d+\.distcp$/.exec(f.relativePath);
    return { path: joinPath(dir, f.relativePath), size: f.size, rank: m ? Number(m[1]) : undefined };
  });
  const metadataFiles = (await storage.stat(joinPath(dir, ".metadata")))
    ? [joinPath(dir, ".metadata")]
    : ((await storage.list(dir)) ?? []).filter((d) => /^__\d+\.metadata$/.test(d.name)).map((d) => joinPath(dir, d.name));
  return {
    format: "dcp",
    storage,
    path: dir,
    entries,
    files,
    metadataFiles,
    paths,
    readTensor: (name, box, out) => ckpt.readTensor(name, box, out),
    locate: (name, box) => ckpt.locate(name, box),
    readValue: (name) => ckpt.readValue(name),
    close: () => ckpt.close(),
  };
}

