import * as z from "../schema/mod.ts";
import { FormatError } from "../errors/mod.ts";
import { checkLimit, type Limits, resolveLimits } from "../limits/mod.ts";
import { readAllWithin, type Storage } from "../storage/mod.ts";
import { compareCodePoints } from "./order.ts";

/** The conventional name of a sharded folder's index. */
export const SAFETENSORS_INDEX_NAME = "model.safetensors.index.json";

/** `model.safetensors.index.json`: `metadata` (with `total_size`) and the tensor -> file map. */
export interface SafetensorsIndex {
  /** The index's `metadata` (`total_size`). */
  metadata: Record<string, unknown>;
  /** Tensor name to shard file name. */
  weightMap: Map<string, string>;
}

const IndexJson = z.lazySchema(() =>
  z.object({
    metadata: z.optional(z.record(z.string(), z.unknown())),
    weight_map: z.record(z.string(), z.string()),
  })
);

/** Reads and checks `model.safetensors.index.json`, its size checked against `maxMetadataBytes` first. */
export async function readSafetensorsIndex(
  storage: Storage,
  path: string,
  opts: { limits?: Partial<Limits> } = {},
): Promise<SafetensorsIndex> {
  const limits = resolveLimits(opts.limits);
  const bytes = await readAllWithin(storage, path, limits, "maxMetadataBytes");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new FormatError("E_SAFETENSORS", `index is not UTF-8 JSON: ${(e as Error).message}`, {
      path,
      offset: 0,
      cause: e,
    });
  }
  const parsed = IndexJson().safeParse(json);
  if (!parsed.success) {
    throw new FormatError("E_SAFETENSORS", `malformed index: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}`, {
      path,
      offset: 0,
    });
  }
  // From the parsed JSON, not zod's copy: zod rebuilds records by assignment, which drops a `__proto__` key.
  const names = Object.entries((json as { weight_map: Record<string, string> }).weight_map);
  const where = { path, offset: 0 };
  checkLimit(limits, "maxTensors", names.length, "entries in weight_map", where);
  for (const [name] of names) checkLimit(limits, "maxNameLength", name.length, "length of a name in weight_map", where);
  return { metadata: parsed.data.metadata ?? {}, weightMap: new Map(names) };
}

/**
 * Writes the index as transformers' `save_pretrained` does: `json.dumps(index, indent=2, sort_keys=True)`
 * plus a newline (ASCII-only, non-ASCII escaped as `\uXXXX`). The index commits the folder, so temp files
 * killed runs left there are removed after it (`Storage.removeTemps`).
 */
export async function writeSafetensorsIndex(storage: Storage, path: string, index: SafetensorsIndex): Promise<void> {
  const doc = { metadata: index.metadata, weight_map: Object.fromEntries(index.weightMap) };
  await storage.writeAll(path, new TextEncoder().encode(`${pythonJson(doc, "")}\n`));
  // The index commits the sharded folder: temps left there are earlier runs' (other shard counts included).
  const cut = path.lastIndexOf("/");
  await storage.removeTemps?.(cut < 0 ? "" : path.slice(0, cut));
}

function pythonJson(v: unknown, indent: string): string {
  if (typeof v === "string") {
    return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + pythonJson(x, inner)).join(",\n")}\n${indent}]`;
  }
  const keys = Object.keys(v).sort(compareCodePoints);
  if (keys.length === 0) return "{}";
  const body = keys.map((k) =>
    `${inner}${pythonJson(k, inner)}: ${pythonJson((v as Record<string, unknown>)[k], inner)}`
  );
  return `{\n${body.join(",\n")}\n${indent}}`;
}
