import { FormatError, UsageError } from "../../errors/mod.ts";
import type {
  AdapterDirection,
  AdapterDroppedEntry,
  AdapterFile,
  AdapterFileOptions,
  AdapterPlan,
  AdapterSourceEntry,
  AdapterTargetEntry,
  StateDictAdapter,
} from "../adapter.ts";
import { missingKeysError, unknownKeysError } from "../adapter.ts";
import { type Llama3Flavor, llama3Flavor } from "./flavors.ts";
import { encodeHfConfig, llama3HfConfig } from "./hf_config.ts";
import {
  LLAMA3_KEY_GENERATIONS,
  type Llama3KeyGeneration,
  type Llama3Parameter,
  llama3Parameters,
} from "./parameters.ts";
import { rotaryFromHfRows, rotaryToHfRows } from "./rotary.ts";

/** Options of the llama3 adapter. */
export interface Llama3AdapterOptions {
  /** The model size (`8B`, `debugmodel`, ...). */
  flavor: string;
  /** Which way names are mapped. */
  direction: AdapterDirection;
  /** TorchTitan key names. to-hf: detected from the source when absent; from-hf: `head` (torchtitan 0.3.0). */
  keys?: "classic" | "head" | Llama3KeyGeneration;
  /** Plan a subset (e.g. after `--include`) instead of failing on parameters the source lacks. */
  allowMissing?: boolean;
}

/** Full TorchTitan checkpoints before commit 7d5f3cc6 nested the model under `model.`. */
const MODEL_PREFIX = "model.";
/** Until commit 9874e84d TorchTitan saved its RoPE cache as a persistent buffer; HF recomputes it. */
const TITAN_ROPE_CACHE = "freqs_cis";
const HF_INV_FREQ = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** Picks each rename from the keys present; when both spellings appear the newer wins (the other is unknown). */
export function detectLlama3Keys(names: readonly string[]): Llama3KeyGeneration {
  const has = (test: (n: string) => boolean) => names.some(test);
  const output = has((n) => n === "lm_head.weight") || !has((n) => n === "output.weight") ? "lm_head" : "output";
  const qkv = has((n) => n.includes(".attention.qkv_linear.")) || !has((n) => /\.attention\.w[qkv]\./.test(n))
    ? "qkv_linear"
    : "attention";
  return { output, qkv };
}

function resolveKeys(keys: Llama3AdapterOptions["keys"]): Llama3KeyGeneration | undefined {
  if (keys === undefined || typeof keys === "object") return keys;
  if (keys === "classic" || keys === "head") return LLAMA3_KEY_GENERATIONS[keys];
  throw new UsageError("E_USAGE", `unknown llama3 key generation '${keys}' (known: classic, head)`);
}

/** The TorchTitan llama3 <-> HuggingFace `LlamaForCausalLM` state-dict adapter for one flavor. */
export function createLlama3Adapter(options: Llama3AdapterOptions): StateDictAdapter {
  const flavor = llama3Flavor(options.flavor);
  if (options.direction !== "to-hf" && options.direction !== "from-hf") {
    throw new UsageError("E_USAGE", `unknown adapter direction '${options.direction}' (known: to-hf, from-hf)`);
  }
  const keys = resolveKeys(options.keys);
  const direction = options.direction;
  return {
    model: "llama3",
    flavor: flavor.name,
    direction,
    plan(entries, planOptions = {}) {
      const request = { flavor, keys, allowMissing: options.allowMissing ?? false, path: planOptions.path };
      return direction === "to-hf" ? planToHf(entries, request) : planFromHf(entries, request);
    },
    extraFiles(fileOptions: AdapterFileOptions = {}): AdapterFile[] {
      if (direction === "from-hf") return [];
      return [{ path: "config.json", bytes: encodeHfConfig(llama3HfConfig(flavor, fileOptions)) }];
    },
  };
}

interface PlanRequest {
  flavor: Llama3Flavor;
  keys?: Llama3KeyGeneration;
  allowMissing: boolean;
  path?: string;
}

/** Collects the plan while remembering which parameters were produced and what went wrong. */
class PlanBuilder {
  readonly entries: AdapterTargetEntry[] = [];
  readonly dropped: AdapterDroppedEntry[] = [];
  readonly unknown: string[] = [];
  readonly badShapes: string[] = [];
  readonly produced = new Set<Llama3Parameter>();
  private readonly permutations = new Map<string, Int32Array>();

  constructor(private readonly request: PlanRequest, private readonly toHf: boolean) {}

  add(param: Llama3Parameter, source: AdapterSourceEntry): void {
    if (!sameShape(source.shape, param.shape)) {
      this.badShapes.push(`${source.name} is [${source.shape.join(", ")}], expected [${param.shape.join(", ")}]`);
      return;
    }
    this.produced.add(param);
    this.entries.push({
      targetName: this.toHf ? param.hf : param.titan,
      sourceName: source.name,
      dtype: source.dtype,
      shape: [...param.shape],
      ...(param.rotaryHeads === undefined
        ? {}
        : { rowPermutation: this.permutation(param.rotaryHeads, param.shape[0]) }),
    });
  }

  /** Throws the first class of problem found: unknown keys, then wrong shapes, then missing parameters. */
  finish(params: readonly Llama3Parameter[], optional: (p: Llama3Parameter) => boolean): AdapterPlan {
    const { flavor, path } = this.request;
    if (this.unknown.length > 0) throw unknownKeysError("llama3", this.unknown, path);
    if (this.badShapes.length > 0) {
      throw new FormatError("E_SHAPE", `shapes do not fit llama3 ${flavor.name}: ${this.badShapes.join("; ")}`, {
        path,
      });
    }
    if (!this.request.allowMissing) {
      const missing = params.filter((p) => !this.produced.has(p) && !optional(p));
      if (missing.length > 0) {
        throw missingKeysError(`llama3 ${flavor.name}`, missing.map((p) => (this.toHf ? p.titan : p.hf)), path);
      }
    }
    return { entries: this.entries, dropped: this.dropped };
  }

  // Every layer's wq (and wk) shares one permutation; planning 405B should not build 252 copies.
  private permutation(heads: number, rows: number): Int32Array {
    const id = `${heads}x${rows}`;
    let perm = this.permutations.get(id);
    if (perm === undefined) {
      perm = this.toHf ? rotaryToHfRows(heads, rows) : rotaryFromHfRows(heads, rows);
      this.permutations.set(id, perm);
    }
    return perm;
  }
}

function planToHf(entries: readonly AdapterSourceEntry[], request: PlanRequest): AdapterPlan {
  const { flavor } = request;
  const unwrap = entries.length > 0 && entries.every((e) => e.name.startsWith(MODEL_PREFIX));
  const titanName = (e: AdapterSourceEntry) => (unwrap ? e.name.slice(MODEL_PREFIX.length) : e.name);
  const keys = request.keys ?? detectLlama3Keys(entries.map(titanName));
  const params = llama3Parameters(flavor, keys);
  const byName = new Map(params.map((p) => [p.titan, p]));
  const plan = new PlanBuilder(request, true);
  for (const entry of entries) {
    const name = titanName(entry);
    const param = byName.get(name);
    if (name === TITAN_ROPE_CACHE) {
      plan.dropped.push({ name: entry.name, reason: "RoPE cache buffer; HF recomputes it" });
    } else if (param === undefined) {
      plan.unknown.push(entry.name);
    } else if (param.isOutputHead && flavor.weightTying) {
      plan.dropped.push({ name: entry.name, reason: "tied to tok_embeddings.weight (tie_word_embeddings)" });
    } else {
      plan.add(param, entry);
    }
  }
  return plan.finish(params, (p) => p.isOutputHead === true && flavor.weightTying);
}

function planFromHf(entries: readonly AdapterSourceEntry[], request: PlanRequest): AdapterPlan {
  const { flavor } = request;
  const params = llama3Parameters(flavor, request.keys ?? LLAMA3_KEY_GENERATIONS.head);
  const byName = new Map(params.map((p) => [p.hf, p]));
  const plan = new PlanBuilder(request, false);
  let embedding: AdapterSourceEntry | undefined;
  for (const entry of entries) {
    const param = byName.get(entry.name);
    if (HF_INV_FREQ.test(entry.name)) {
      plan.dropped.push({ name: entry.name, reason: "RoPE inverse frequencies; TorchTitan recomputes them" });
    } else if (param === undefined) {
      plan.unknown.push(entry.name);
    } else {
      if (param === params[0]) embedding = entry;
      plan.add(param, entry);
    }
  }
  const head = params[params.length - 1];
  // A tied HF model may omit lm_head; TorchTitan still holds the output weight, equal to the embedding.
  if (flavor.weightTying && !plan.produced.has(head) && embedding !== undefined && plan.produced.has(params[0])) {
    plan.add(head, embedding);
  }
  return plan.finish(params, () => false);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
