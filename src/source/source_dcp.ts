import { fetchOpenings, METADATA_FILE, openDcp, rankOfFileName } from "../dcp/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { joinPath, PrefetchStorage } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import type { Entry, SourceFile, TensorSource } from "./tensor_source.ts";

/**
 * A DCP folder as a `TensorSource`, through the DCP layer's reader (box reads touch only needed items). Over a
 * remote storage (`Storage.remote`: HTTP, S3) the items' ends, which opening each item's archive reads, are
 * fetched at open in coalesced requests (`fetchOpenings`) and held until `close()`, and every data file is
 * opened once, so its data reads arrive at the storage below in order (S3 streams them in large windows).
 */
export async function openDcpSource(storage: Storage, dir: string, limits?: Partial<Limits>): Promise<TensorSource> {
  const view = storage.remote ? new PrefetchStorage(storage) : undefined;
  const reader = view ?? storage;
  const ckpt = await openDcp(reader, dir, { limits });
  try {
    if (view) await fetchOpenings(view, dir, ckpt.metadata);
  } catch (e) {
    await ckpt.close();
    throw e;
  }
  const entries: Entry[] = [];
  const paths = new Map<string, (string | number)[]>();
  for (const { path, ...entry } of ckpt.entries()) {
    paths.set(entry.name, path);
    entries.push(entry);
  }
  const files: SourceFile[] = (await ckpt.files()).map((f) => {
    return { path: joinPath(dir, f.relativePath), size: f.size, rank: rankOfFileName(f.relativePath) };
  });
  const metadataFiles = (await reader.stat(joinPath(dir, METADATA_FILE)))
    ? [joinPath(dir, METADATA_FILE)]
    : ((await reader.list(dir)) ?? []).filter((d) => /^__\d+\.metadata$/.test(d.name)).map((d) =>
      joinPath(dir, d.name)
    );
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
    close: async () => {
      await ckpt.close();
      view?.drop();
    },
  };
}
