import type { ByteSink, ByteSource, Storage } from "./storage.ts";

/**
 * The convenience methods of `Storage` expressed through `open` / `create`, shared by the backends so
 * that they behave identically (same range checks, same publish-on-close rule).
 */
export async function readRange(storage: Storage, path: string, offset: number, length: number): Promise<Uint8Array> {
  const source = await storage.open(path);
  try {
    return await source.read(offset, length);
  } finally {
    await source.close();
  }
}

export async function readWhole(storage: Storage, path: string): Promise<Uint8Array> {
  const source: ByteSource = await storage.open(path);
  try {
    return await source.read(0, source.size);
  } finally {
    await source.close();
  }
}

export async function writeWhole(storage: Storage, path: string, bytes: Uint8Array): Promise<void> {
  const sink: ByteSink = await storage.create(path);
  try {
    await sink.write(bytes);
  } catch (e) {
    await sink.abort();
    throw e;
  }
  await sink.close();
}
