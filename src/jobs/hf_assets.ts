import { StorageError } from "../errors/mod.ts";
import { joinPath } from "../storage/mod.ts";
import type { Location } from "../source/mod.ts";
import type { Part } from "../writers/mod.ts";
import { readSafetensorsIndex, SAFETENSORS_INDEX_NAME } from "../safetensors/mod.ts";

/** Files of an HF model folder that belong beside the weights (model config and tokenizer). */
const ASSET_FILE =
  /^(config\.json|generation_config\.json|tokenizer.*|special_tokens_map\.json|vocab\.json|merges\.txt)$/;

/**
 * `--hf-assets-path`: copies the config and tokenizer files of an existing HF folder into the output (by
 * part 0 only, when parts write) and returns its shard plan (tensor name -> file) when it has an index.
 */
export async function copyHfAssets(
  assets: Location,
  dst: Location,
  part?: Part,
): Promise<{ files: string[]; shardMap?: Map<string, string> }> {
  const listing = await assets.storage.list(assets.path);
  if (!listing) throw new StorageError("E_NOT_FOUND", "HF assets folder does not exist", { path: assets.path || "." });
  const files: string[] = [];
  let shardMap: Map<string, string> | undefined;
  for (const e of listing) {
    if (e.kind !== "file") continue;
    const from = joinPath(assets.path, e.name);
    if (e.name === SAFETENSORS_INDEX_NAME) {
      shardMap = (await readSafetensorsIndex(assets.storage, from)).weightMap;
    } else if (ASSET_FILE.test(e.name) && (!part || part.index === 0)) {
      const to = joinPath(dst.path, e.name);
      await dst.storage.writeAll(to, await assets.storage.readAll(from));
      files.push(to);
    }
  }
  return { files, shardMap };
}
