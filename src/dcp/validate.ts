/**
 * Checks a DCP chunk layout before anything is read or written: chunks inside their tensor, no overlaps,
 * exact tiling when a tensor has several chunks (PyTorch's `_validate_global_plan`), an item for every
 * chunk, item paths that stay inside the checkpoint folder and (optionally) byte ranges inside their files.
 */
import { FormatError, IntegrityError, type Problem, problemOf, StorageError, WebdcpError } from "../errors/mod.ts";
import { joinPath, pathFromFile, REMOTE_REQUESTS_IN_FLIGHT } from "../storage/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { runLimited } from "../tasks/mod.ts";
import { checkTiling } from "./tiling.ts";
import type { DcpMetadata, TensorEntryMeta } from "./metadata.ts";
import { storageKey } from "./metadata.ts";
import { METADATA_FILE } from "./commit.ts";

/** Options of the layout checks. */
export interface LayoutCheckOptions {
  /** Require chunks to cover the tensor exactly when there is more than one (default true). */
  requireTiling?: boolean;
  /** File named in errors (the `.metadata` path). */
  path?: string;
}

/**
 * Chunks of one tensor: in bounds, non-overlapping, tiling the tensor when there are several (the rule is
 * `checkTiling`'s); throws the first problem.
 */
export function checkTensorChunks(fqn: string, entry: TensorEntryMeta, opts: LayoutCheckOptions = {}): void {
  const [first] = checkTiling(entry.size, entry.chunks, opts.requireTiling === false ? "never" : "sharded");
  if (!first) return;
  const Class = first.code === "E_OVERLAP" || first.code === "E_GAP" ? IntegrityError : FormatError;
  throw new Class(first.code, `'${fqn}' ${first.message}`, { path: opts.path });
}

/**
 * The whole metadata: every tensor's chunk layout, an item for every chunk and every BYTE_IO entry, and
 * item paths that stay inside the folder. Returns the normalised relative path of every data file.
 */
export function checkLayout(meta: DcpMetadata, opts: LayoutCheckOptions = {}): Set<string> {
  const where = { path: opts.path };
  for (const [fqn, entry] of meta.stateDictMetadata) {
    if (entry.kind === "bytes") {
      if (!meta.storageData.has(storageKey(fqn, null))) {
        throw new FormatError("E_METADATA", `no storage_data item for BYTE_IO entry '${fqn}'`, where);
      }
      continue;
    }
    checkTensorChunks(fqn, entry, opts);
    for (const c of entry.chunks) {
      if (!meta.storageData.has(storageKey(fqn, c.offsets))) {
        throw new FormatError("E_METADATA", `no storage_data item for '${fqn}' chunk at [${c.offsets}]`, where);
      }
    }
  }
  const files = new Set<string>();
  for (const item of meta.storageData.values()) files.add(itemFile(item.info.relativePath, opts.path));
  return files;
}

/** A `relative_path` normalised, or E_PATH_ESCAPE naming the `.metadata` when it is absolute or leaves the folder. */
export function itemFile(relativePath: string, metadataPath?: string): string {
  return pathFromFile(relativePath, metadataPath ?? METADATA_FILE, "relative_path");
}

/** What `itemRanges` finds: the data files' sizes, the items safe to open and what is wrong with the rest. */
export interface ItemRanges {
  /** Size of every data file found, by normalised relative path. */
  sizes: Map<string, number>;
  /** `storageKey`s of the items whose file exists and whose byte range lies inside it. */
  usable: Set<string>;
  /** What is wrong, one problem per item or file. */
  problems: Problem[];
  /** The error behind each problem, for readers that throw the first. */
  errors: WebdcpError[];
}

/**
 * The item-range rule, in one place: every item's path stays inside the folder, its data file exists and
 * its byte range lies inside that file. Reports every problem (`verify`); `checkItemRanges` throws the first.
 */
export async function itemRanges(
  storage: Storage,
  dir: string,
  meta: DcpMetadata,
  metadataPath?: string,
): Promise<ItemRanges> {
  const out: ItemRanges = { sizes: new Map(), usable: new Set(), problems: [], errors: [] };
  const fail = (e: WebdcpError, entry: string) => {
    out.errors.push(e);
    out.problems.push(problemOf(e, entry));
  };
  const files = new Map<string, number | undefined | WebdcpError>();
  const rels = new Map<string, string | WebdcpError>();
  for (const [key, item] of meta.storageData) {
    try {
      const rel = itemFile(item.info.relativePath, metadataPath);
      rels.set(key, rel);
      files.set(rel, undefined);
    } catch (e) {
      if (!(e instanceof WebdcpError)) throw e;
      rels.set(key, e);
    }
  }
  // Every data file at once (a few at a time): over a remote storage each stat is a round trip.
  await runLimited(
    [...files.keys()].map((rel) => async () => {
      const found = await storage.stat(joinPath(dir, rel)).then((info) => info?.size, (e) => {
        if (e instanceof WebdcpError) return e;
        throw e;
      });
      files.set(rel, found);
    }),
    REMOTE_REQUESTS_IN_FLIGHT,
  );
  const told = new Set<string>();
  for (const [key, item] of meta.storageData) {
    const rel = rels.get(key)!;
    if (rel instanceof WebdcpError) {
      fail(rel, item.fqn);
      continue;
    }
    const full = joinPath(dir, rel);
    const size = files.get(rel);
    if (typeof size !== "number") {
      // One problem per missing (or unreadable) file, told at its first item.
      if (told.has(rel)) continue;
      told.add(rel);
      fail(
        size ?? new StorageError("E_NOT_FOUND", `data file '${rel}' named by .metadata is missing`, { path: full }),
        item.fqn,
      );
      continue;
    }
    out.sizes.set(rel, size);
    const { offset, length } = item.info;
    if (offset < 0 || length < 0 || offset + length > size) {
      const e = new FormatError(
        "E_OUT_OF_RANGE",
        `item '${item.fqn}' spans [${offset}, ${offset + length}) but the file has ${size} bytes`,
        { path: full, offset },
      );
      fail(e, item.fqn);
      continue;
    }
    out.usable.add(key);
  }
  return out;
}

/** Stats every data file and checks that every item's byte range lies inside it; returns the file sizes. */
export async function checkItemRanges(
  storage: Storage,
  dir: string,
  meta: DcpMetadata,
): Promise<Map<string, number>> {
  const { sizes, errors } = await itemRanges(storage, dir, meta);
  if (errors.length > 0) throw errors[0];
  return sizes;
}
