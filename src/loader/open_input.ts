/**
 * Opening what a loader is given (a URL, a storage location or an open `TensorSource`) with as few
 * requests as the format allows: the path says what it is, so the probe is the first read the format needs
 * anyway (`.metadata` for a DCP folder, the header of a `.safetensors` file, the start of a `.pt` archive),
 * and every header read after it comes from windows fetched in coalesced requests.
 */
import type { Location } from "../source/mod.ts";
import { openDcpSource } from "../source/mod.ts";
import { openHfFolderSource, openSafetensorsFileSource } from "../source/mod.ts";
import { openTorchFileSource } from "../source/mod.ts";
import type { SourceFormat, TensorSource } from "../source/mod.ts";
import { StorageError } from "../errors/mod.ts";
import { decodeMetadata, openingRanges } from "../dcp/mod.ts";
import { readSafetensorsIndex, SAFETENSORS_INDEX_NAME, SINGLE_FILE_NAME } from "../safetensors/mod.ts";
import { HttpStorage, type HttpStorageOptions } from "../storage/mod.ts";
import { joinPath } from "../storage/mod.ts";
import { PrefetchStorage } from "../storage/mod.ts";
import { planRanges } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { ENDS_WINDOW } from "../torch/mod.ts";

/** What a load reads: a URL (file or folder), a storage location, or a source opened by the caller. */
export type LoadInput = TensorSource | Location | string | URL;

export interface OpenedInput {
  source: TensorSource;
  /** The prefetching view the source reads through (absent for a caller's source). */
  view?: PrefetchStorage;
  /** Whether the loader opened the source (and closes it). */
  owned: boolean;
  /** The storage below the view (absent for a caller's source). */
  storage?: Storage;
}

export interface OpenInputOptions {
  signal?: AbortSignal;
  http?: HttpStorageOptions;
  /** The tensors that will be read: a DCP's item headers are fetched for these only. */
  select?: (name: string) => boolean;
  /** Requests in flight while headers are fetched (default 4). */
  inFlight?: number;
}

/** Bytes a probe asks for: a DCP `.metadata` or an index is usually whole in it, a safetensors header too. */
const PROBE_BYTES = 256 << 10;
const FILE_FORMATS: [RegExp, SourceFormat][] = [
  [/\.safetensors$/i, "safetensors"],
  [/\.(pt|pth|bin|ckpt)$/i, "torch"],
  [/(^|\/)model\.safetensors\.index\.json$/i, "hf"],
];

export function isTensorSource(x: LoadInput): x is TensorSource {
  return typeof (x as TensorSource).readTensor === "function" && Array.isArray((x as TensorSource).entries);
}

/** The storage and path a URL names: a file URL's folder and name, or a folder URL itself. */
export function locateUrl(url: string | URL, http: HttpStorageOptions = {}): Location {
  const href = new URL(String(url), (globalThis as { location?: { href: string } }).location?.href).href;
  const cut = href.lastIndexOf("/");
  const last = href.slice(cut + 1);
  if (FILE_FORMATS.some(([re]) => re.test(last))) {
    return { storage: new HttpStorage(href.slice(0, cut + 1), http), path: decodeURIComponent(last) };
  }
  return { storage: new HttpStorage(href, http), path: "" };
}

/**
 * Opens `input` for reading the tensors `select` keeps: metadata and headers come first, in coalesced
 * requests; a DCP folder costs one request for `.metadata` and about one per data file for the headers of
 * the selected items (whole items when small).
 */
export async function openInput(input: LoadInput, options: OpenInputOptions = {}): Promise<OpenedInput> {
  if (isTensorSource(input)) return { source: input, owned: false };
  const signal = options.signal;
  let location: Location;
  if (typeof input === "string" || input instanceof URL) {
    const given = options.http?.fetch ?? ((i: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(i, init));
    const fetchWithSignal = (i: RequestInfo | URL, init?: RequestInit) => given(i, { ...init, signal });
    location = locateUrl(input, { ...options.http, fetch: fetchWithSignal as typeof fetch });
  } else {
    location = input;
  }
  const view = new PrefetchStorage(location.storage, { signal });
  const source = await openThroughView(view, location.path, location.storage, options);
  return { source, view, owned: true, storage: location.storage };
}

async function openThroughView(
  view: PrefetchStorage,
  path: string,
  inner: Storage,
  options: OpenInputOptions,
): Promise<TensorSource> {
  const format = FILE_FORMATS.find(([re]) => re.test(path))?.[1];
  const missing = (probed: string[]) =>
    new StorageError(
      "E_NOT_FOUND",
      `nothing to load: ${probed.map((p) => `'${p}'`).join(", ")} not found (HTTP 404 or absent)`,
      { path: `${inner.description}${path}` },
    );
  if (format === "safetensors") {
    if (!await view.probe(path, PROBE_BYTES)) throw missing([path]);
    return await openSafetensorsFileSource(view, path);
  }
  if (format === "torch") {
    if (!await view.probe(path, ENDS_WINDOW)) throw missing([path]);
    const size = (await view.stat(path))!.size;
    // The archive's directory and small records sit at its end.
    if (size > ENDS_WINDOW) {
      const tailStart = Math.max(ENDS_WINDOW, size - ENDS_WINDOW);
      await view.fetch([{ path, offset: tailStart, length: size - tailStart, members: [] }]);
    }
    return await openTorchFileSource(view, path);
  }
  const dir = format === "hf" ? path.slice(0, path.lastIndexOf("/") + 1).replace(/\/$/, "") : path;
  const metadata = joinPath(dir, ".metadata");
  if (format !== "hf" && await view.probe(metadata, PROBE_BYTES)) {
    const meta = decodeMetadata(await view.readAll(metadata), metadata);
    const wanted = openingRanges(meta, dir, { select: options.select });
    await view.fetch(planRanges(wanted), options.inFlight);
    return await openDcpSource(view, dir);
  }
  const index = joinPath(dir, SAFETENSORS_INDEX_NAME);
  if (await view.probe(index, PROBE_BYTES)) {
    const files = [...new Set((await readSafetensorsIndex(view, index)).weightMap.values())];
    await Promise.all(files.map((f) => view.probe(joinPath(dir, f), PROBE_BYTES)));
    return await openHfFolderSource(view, dir);
  }
  const single = joinPath(dir, SINGLE_FILE_NAME);
  if (await view.probe(single, PROBE_BYTES)) return await openHfFolderSource(view, dir);
  const listing = await inner.list(dir);
  if (listing?.some((e) => e.kind === "file" && e.name.endsWith(".safetensors"))) {
    return await openHfFolderSource(view, dir);
  }
  throw missing(format === "hf" ? [index] : [metadata, index, single]);
}
