import { nodeFs } from "./node_fs.ts";

/** Temp files of unfinished sinks: `<name>.tmp-<16 hex>` (FileStorage's naming; `list()` hides them). */
export const TEMP_SUFFIX = /\.tmp-[0-9a-f]{16}$/;

/**
 * Removes the temp files other runs left for `final` (`<final>.tmp-*`), once `final` is published: a run
 * killed while writing a file leaves its temp behind (hundreds of MiB for a rank file), and the rerun that
 * publishes the same name is the one that knows it is stale. Temps of the file just published are the
 * only ones touched: another process writing other names into the same folder (a `--part`) keeps its own.
 * Best effort: a temp that cannot be removed stays, the publish stands.
 */
export async function removeStaleTemps(final: string): Promise<void> {
  const fs = await nodeFs();
  const cut = final.lastIndexOf("/");
  const dir = cut < 0 ? "." : final.slice(0, cut) || "/";
  const base = final.slice(cut + 1);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.length === base.length + 21 && name.startsWith(base) && TEMP_SUFFIX.test(name)) {
      await fs.unlink(`${dir}/${name}`).catch(() => {});
    }
  }
}
