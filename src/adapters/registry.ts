import { UsageError } from "../errors/mod.ts";
import type { AdapterDirection, StateDictAdapter } from "./adapter.ts";
import { createLlama3Adapter, type Llama3AdapterOptions } from "./llama3/mapping.ts";

/** What every model adapter is built from; a model may read further options of its own. */
export interface AdapterOptions {
  /** The model size (`8B`, `debugmodel`, ...). */
  flavor: string;
  /** Which way names are mapped. */
  direction: AdapterDirection;
  /** The adapter's model-specific key naming (llama3: "classic" | "head"). */
  keys?: string;
  /** Accept a source without some tensors the flavor has (default false: E_MISSING_KEY). */
  allowMissing?: boolean;
}

const FACTORIES: Readonly<Record<string, (options: AdapterOptions) => StateDictAdapter>> = {
  llama3: (options) => createLlama3Adapter(options as Llama3AdapterOptions),
};

/** The names `getAdapter` accepts (the CLI's `--adapter` values). */
export const ADAPTER_NAMES: readonly string[] = Object.keys(FACTORIES);

/** Builds the adapter for a model name; an unknown name is a usage error listing the known ones. */
export function getAdapter(model: string, options: AdapterOptions): StateDictAdapter {
  if (!Object.hasOwn(FACTORIES, model)) {
    throw new UsageError("E_USAGE", `unknown adapter '${model}' (known: ${ADAPTER_NAMES.join(", ")})`);
  }
  return FACTORIES[model](options);
}
