import type { ByteSink, Storage } from "./storage.ts";

/**
 * Writes `path` through `fill` and publishes it; when `fill` (or publishing) fails the file is abandoned, so a
 * half-written file never appears under its name. Returns what `fill` returns.
 */
export async function writeFile<T>(storage: Storage, path: string, fill: (sink: ByteSink) => Promise<T>): Promise<T> {
  const sink = await storage.create(path);
  try {
    const result = await fill(sink);
    await sink.close();
    return result;
  } catch (e) {
    await sink.abort().catch(() => {});
    throw e;
  }
}
