import { checkLimit, type LimitName, type Limits } from "../limits/mod.ts";
import type { Storage } from "./storage.ts";

/**
 * A whole metadata file, its size checked against `limits[limit]` before a byte is allocated: a hostile
 * `.metadata` may be gigabytes (sparse on disk) and must be refused by its size alone.
 */
export async function readAllWithin(
  storage: Storage,
  path: string,
  limits: Limits,
  limit: LimitName,
): Promise<Uint8Array> {
  const src = await storage.open(path);
  try {
    checkLimit(limits, limit, src.size, "file size in bytes", { path, offset: 0 });
    return src.size === 0 ? new Uint8Array(0) : await src.read(0, src.size);
  } finally {
    await src.close();
  }
}
