/**
 * The dedicated Worker of the browser cache proof: `preload` here writes through sync access handles, so
 * each flushed block survives the worker being terminated mid-download.
 */
import { OpfsCache, preload } from "../../mod.ts";

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = async (e: MessageEvent) => {
  const { url, folder, blockBytes } = e.data as { url: string; folder: string; blockBytes?: number };
  try {
    const cache = await OpfsCache.open(folder);
    const report = await preload(url, {
      cache,
      blockBytes,
      onProgress: (p) => scope.postMessage({ progress: { bytesDone: p.bytesDone, bytesTotal: p.bytesTotal } }),
    });
    scope.postMessage({ report });
  } catch (err) {
    const x = err as Error & { code?: string };
    scope.postMessage({ error: { name: x.name, code: x.code, message: x.message } });
  }
};
