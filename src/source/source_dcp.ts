import { METADATA_FILE, openDcp, rankOfFileName } from "../dcp/mod.ts";
import type { Limits } from "../limits/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import type { Entry, SourceFile, TensorSource } from "./tensor_source.ts";

/** A DCP folder as a `TensorSource`, through the DCP layer's reader (box reads touch only needed items). */
export async function openDcpSource(storage: Storage, dir: string, limits?: Partial<Limits>): Promise<TensorSource> {
  const ckpt = await openDcp(storage, dir, { limits });
  const entries: Entry[] = [];
  const paths = new Map<string, (string | number)[]>();
  for (const { path, ...entry } of ckpt.entries()) {
    paths.set(entry.name, path);
    entries.push(entry);
  }
  const files: SourceFile[] = (await ckpt.files()).map((f) => {
    return { path: joinPath(dir, f.relativePath), size: f.size, rank: rankOfFileName(f.relativePath) };
  });
  const metadataFiles = (await storage.stat(joinPath(dir, METADATA_FILE)))
    ? [joinPath(dir, METADATA_FILE)]
    : ((await storage.list(dir)) ?? []).filter((d) => /^__\d+\.metadata$/.test(d.name)).map((d) =>
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
    close: () => ckpt.close(),
  };
}
