import { localFs } from "./local_fs.ts";

/** Temp files of unfinished sinks: `<name>.tmp-<16 hex>` (FileStorage's naming; `list()` hides them). */
export const TEMP_SUFFIX = /\.tmp-[0-9a-f]{16}$/;

/**
 * The one rule for leftovers of killed runs. A run killed while writing leaves its temps behind (hundreds
 * of MiB for a rank file); the run that later publishes into the same place is the one that knows they
 * are stale:
 *
 * - publishing a file removes the temps left for that name (`removeStaleTemps`): temps of other names are
 *   not touched, since another process may be writing them (a `--part` into the same folder);
 * - committing a whole output folder (DCP `.metadata`, a sharded safetensors index) removes every temp in
 *   that folder (`removeTempsIn`): each of its files is written by then, and parts have all finished before
 *   `finalize` commits, so what is left is an earlier run's, whatever names it wrote (4 ranks, or 3 shards,
 *   before a rerun with 2).
 *
 * Best effort: a temp that cannot be removed stays, the publish stands.
 */
export async function removeStaleTemps(final: string): Promise<void> {
  const cut = final.lastIndexOf("/");
  const base = final.slice(cut + 1);
  await removeTemps(cut < 0 ? "." : final.slice(0, cut) || "/", (name) => name === base);
}

/** Removes every temp file in the folder `dir` (an absolute path); see `removeStaleTemps` for when. */
export async function removeTempsIn(dir: string): Promise<void> {
  await removeTemps(dir, () => true);
}

async function removeTemps(dir: string, of: (name: string) => boolean): Promise<void> {
  const fs = await localFs();
  let names: string[];
  try {
    names = (await fs.readDir(dir)).map((d) => d.name);
  } catch {
    return;
  }
  for (const name of names) {
    if (TEMP_SUFFIX.test(name) && of(name.slice(0, -21))) await fs.unlink(`${dir}/${name}`).catch(() => {});
  }
}
