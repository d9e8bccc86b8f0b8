/**
 * TorchTitan's `CheckpointManager` for TypeScript programs: saves every `interval` steps (asynchronously if
 * asked), the last step model-only in `export_dtype` or as HF safetensors, resumes from the newest complete
 * step (else `initial_load_path`, else the HF assets, else a fresh start), and keeps `keep_latest_k` steps.
 * The folder it writes is the one TorchTitan writes and reads: model keys flat, the other states under their
 * names, one `step-N` DCP folder per save with `.metadata` committed last.
 */
import { getAdapter, type StateDictAdapter } from "../adapters/mod.ts";
import { flattenStateDict, isMapping, type StateLeaf, type StatePath, unflattenStateDict } from "../dcp/mod.ts";
import { createCpuEngine, type Engine } from "../engine/mod.ts";
import { StorageError, UsageError, WebdcpError } from "../errors/mod.ts";
import type { Storage } from "../storage/mod.ts";
import { type ConfigDocument, type ManagerConfig, resolveConfig, STATE_NAMES } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { nearestName } from "./nearest_name.ts";
import { shouldSave, stepDir } from "./policy.ts";
import { Purger } from "./purge.ts";
import { readDcpStep, readHfStep } from "./read_step.ts";
import { type Snapshot, Stager } from "./staging.ts";
import type { ManagerStates } from "./states.ts";
import { completeness, listSteps, newestComplete } from "./steps.ts";
import { writeDcpStep, writeHfStep } from "./write_step.ts";

/** One progress report of a save (per DCP item written) or a load (per state loaded). */
export interface ManagerProgress {
  /** The step being saved or loaded (-1 for a load from `initial_load_path` or `hf_assets_path`). */
  step: number;
  /** Whether a save is writing or a load is filling the states. */
  phase: "write" | "load";
  /** Writes: DCP items (tensors and values) written so far; loads: states loaded so far. */
  itemsDone: number;
  /** Writes: DCP items of the step; loads: states to load. */
  itemsTotal: number;
  /** Writes: item bytes written so far; absent on loads. */
  bytesWritten?: number;
}

/** What a `CheckpointManager` saves and loads, where, and how it reports. */
export interface CheckpointManagerOptions {
  /** The training states by name (`model` required); each saved under its name, model keys at the top. */
  states: ManagerStates;
  /** The checkpoint folder (`dump_folder/folder`); default `openStorage(folder)`. */
  storage?: Storage;
  /**
   * Opens a storage at a path: the checkpoint folder when `storage` is not given, `initial_load_path` and
   * `hf_assets_path`. The host entry's manager (`mod.ts`, Deno and Node) opens a `FileStorage`; the portable
   * one (`webdcp/browser`) has no file system to fall back on, so a page passes `storage` (OPFS, memory, S3).
   */
  openStorage?: (path: string) => Storage;
  /** The model's adapter, for `last_save_in_hf` and HF loads (llama3 now). */
  adapter?: { model: string; flavor: string; keys?: string };
  /** Dtype casts and row gathers (default the CPU twin; a GPU engine gives the same bits). */
  engine?: Engine;
  /** Aborts saves and loads between steps of their work. */
  signal?: AbortSignal;
  /** Called per item written and per state loaded. */
  onProgress?: (p: ManagerProgress) => void;
  /** Non-fatal problems (a purge that could not remove a folder); default: collected in `warnings`. */
  onWarning?: (message: string) => void;
}

/** What a save wrote: the full state, the model alone in `export_dtype`, or the model as HF safetensors. */
export type SaveKind = "full" | "model-only" | "hf";

/** Milliseconds one save took, split into the part the caller waited for and the part in the background. */
export interface SaveTimes {
  /**
   * Time the caller waited: waiting for the previous save, collecting and staging (and, when synchronous,
   * writing); with `async_with_pinned_mem`, `save()` plus its waits in `maybeWaitForStaging()`.
   */
  blockingMs: number;
  /** Time spent staging (`async_with_pinned_mem`) and writing after `save()` returned (0 for synchronous saves). */
  backgroundMs: number;
}

/** The answer of `save()`. */
export interface SaveResult {
  /** The step asked for. */
  step: number;
  /** False when the policy skipped this step (nothing was written). */
  saved: boolean;
  /** What was written; absent when nothing was. */
  kind?: SaveKind;
  /** Milliseconds `save()` blocked the caller. */
  blockingMs: number;
  /** Settles when the step is committed (at once for synchronous saves); its failure also surfaces in `wait()`. */
  done: Promise<SaveTimes>;
}

/** The answer of `load()` and `maybeLoad()`. */
export interface LoadResult {
  /** False for a fresh start (nothing to load, or checkpointing disabled). */
  loaded: boolean;
  /** Where from: a step of the folder, `initial_load_path`, `hf_assets_path`, or nothing (a fresh start). */
  source: "step" | "initial_load_path" | "hf_assets_path" | "fresh";
  /** The step loaded, when `source` is `"step"`. */
  step?: number;
  /** Only the model state was loaded (step 0, a model-only save, or `initial_load_model_only`). */
  modelOnly: boolean;
  /** The weights came from HF safetensors through the adapter. */
  fromHf: boolean;
  /** Keys loaded per state. */
  keys: Record<string, number>;
}

/**
 * TorchTitan's checkpoint manager over any `Storage`: `save(step)` each training step, `maybeLoad()` once
 * at start, `close()` at the end. This portable one opens no paths itself (see `openStorage`).
 */
export class CheckpointManager {
  /** The resolved configuration. */
  readonly config: ManagerConfig;
  /** The checkpoint folder. */
  readonly storage: Storage;
  /** Non-fatal problems met so far, when no `onWarning` was given. */
  readonly warnings: string[] = [];
  readonly #opts: CheckpointManagerOptions;
  readonly #engine: Engine;
  readonly #stager: Stager;
  /** Synchronous saves write host tensors in place; it only reads WebGPU tensors back. */
  readonly #syncStager = new Stager("reference");
  readonly #purger: Purger;
  #inFlight?: { step: number; promise: Promise<SaveTimes> };
  /** `async_with_pinned_mem`: the snapshot of the last save, while it is taken, and the time waited for it. */
  #staging?: { snapshot: Snapshot; waitedMs: number };
  /** `async_with_pinned_mem`: the state being read for `Stager.prepare()` after a load. */
  #preparing?: Promise<void>;
  #failure?: unknown;
  /** Steps being written now (a purge never removes them). */
  readonly #writing = new Set<number>();
  #closed = false;

  /** `config` is a resolved configuration or a document (TOML tables as an object) to resolve. */
  constructor(config: ManagerConfig | ConfigDocument, options: CheckpointManagerOptions) {
    this.config = isResolved(config) ? config : resolveConfig(config);
    this.#opts = options;
    const c = this.config.checkpoint;
    if (!options?.states?.model) throw new UsageError("E_USAGE", "a CheckpointManager needs states.model");
    if ((c.last_save_in_hf || c.initial_load_in_hf) && !options.adapter) {
      throw new ConfigError({
        key: c.last_save_in_hf ? "checkpoint.last_save_in_hf" : "checkpoint.initial_load_in_hf",
        value: true,
        reason: "HF checkpoints need a model adapter (options.adapter)",
      });
    }
    this.storage = options.storage ?? (options.openStorage ?? noFileSystem)(this.config.folder);
    this.#engine = options.engine ?? createCpuEngine();
    this.#stager = new Stager(
      c.async_mode === "async_with_pinned_mem" ? "pinned" : c.async_mode === "async" ? "copy" : "reference",
    );
    this.#purger = new Purger(this.storage, c.keep_latest_k, (m) => this.#warn(m), () => this.#writing);
  }

  /** `checkpoint.enable`: when false, `save()` saves nothing and `load()` reports a fresh start. */
  get enabled(): boolean {
    return this.config.checkpoint.enable;
  }

  /**
   * Staging buffers allocated so far: constant across steady-state `async_with_pinned_mem` saves, and across
   * `async` saves whose tensor sizes do not change (each reuses the memory of the previous, written snapshot).
   */
  get stagingAllocations(): number {
    return this.#stager.allocations;
  }

  /**
   * Saves `step` when TorchTitan would (`load_only`, first step, last step, interval). Waits for the
   * previous asynchronous save first (and throws its error). The last step is written synchronously.
   * `async` returns once the state is copied; `async_with_pinned_mem` (TorchTitan's asynchronous staging)
   * once WebGPU copies are queued, copying host tensors in the background: call `maybeWaitForStaging()`
   * before changing them.
   */
  async save(step: number, opts: { last?: boolean } = {}): Promise<SaveResult> {
    const begin = performance.now();
    const last = opts.last ?? false;
    this.#checkOpen();
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new UsageError("E_USAGE", `step must be an integer >= 0, got ${step}`);
    }
    if (!shouldSave(this.config.checkpoint, step, last)) {
      return { step, saved: false, blockingMs: 0, done: Promise.resolve({ blockingMs: 0, backgroundMs: 0 }) };
    }
    this.#opts.signal?.throwIfAborted();
    await this.wait();
    await this.#prepared();
    const c = this.config.checkpoint;
    const kind: SaveKind = last && c.last_save_model_only ? (c.last_save_in_hf ? "hf" : "model-only") : "full";
    const names = kind === "full" ? this.#stateNames() : ["model"];
    const { entries, plannerData } = await this.#collect(names);
    const asyncWrite = !last && c.async_mode !== "disabled";
    const background = asyncWrite && c.async_mode === "async_with_pinned_mem";
    // Only an asynchronous save needs its own copy; a synchronous one writes from the state as it is.
    const staged = (asyncWrite ? this.#stager : this.#syncStager).stage(entries, {
      signal: this.#opts.signal,
      background,
    });
    if (!background) await staged.ready;
    const staging = background ? { snapshot: staged, waitedMs: 0 } : undefined;
    this.#staging = staging;
    const write = async () => {
      this.#writing.add(step);
      try {
        await staged.ready;
        await this.#write(step, kind, staged.entries, plannerData);
      } finally {
        this.#writing.delete(step);
        staged.release();
      }
    };
    if (!asyncWrite) {
      await write();
      this.#purger.schedule();
      const blockingMs = performance.now() - begin;
      return { step, saved: true, kind, blockingMs, done: Promise.resolve({ blockingMs, backgroundMs: 0 }) };
    }
    const blockingMs = performance.now() - begin;
    const started = performance.now();
    const promise = write().then(() => {
      this.#purger.schedule();
      return { blockingMs: blockingMs + (staging?.waitedMs ?? 0), backgroundMs: performance.now() - started };
    });
    this.#inFlight = { step, promise };
    promise.catch((e) => {
      this.#failure ??= e;
    });
    const done = promise.then((t) => t);
    done.catch(() => {}); // surfaced by wait(); the caller may ignore `done`
    return { step, saved: true, kind, blockingMs, done };
  }

  /** `create_seed_checkpoint`: step 0 as TorchTitan writes it (a last-step save: model-only by default). */
  async createSeed(): Promise<SaveResult> {
    const c = this.config.checkpoint;
    if (!c.enable) {
      throw new ConfigError({
        key: "checkpoint.enable",
        value: false,
        reason: "a seed checkpoint needs checkpointing enabled",
      });
    }
    return await this.save(0, { last: true });
  }

  /**
   * `async_with_pinned_mem`: waits until the last save's snapshot is taken, as TorchTitan's trainer does before
   * its optimizer step. Call it after a save before changing any host tensor of the state; WebGPU tensors may
   * change at once (the device runs the staging copies first). In the other modes `save()` returns with the
   * snapshot taken, and this at once. A failed staging throws here (and not again from `wait()`).
   */
  async maybeWaitForStaging(): Promise<void> {
    if (await this.#stagingFailed()) await this.wait();
  }

  /**
   * Hurries the last save's background staging to its end, the wait counted as that save's blocking time;
   * whether it failed (its error surfaces from `wait()`).
   */
  async #stagingFailed(): Promise<boolean> {
    const staging = this.#staging;
    if (!staging) return false;
    const begin = performance.now();
    staging.snapshot.hurry();
    const failed = await staging.snapshot.ready.then(() => false, () => true);
    staging.waitedMs += performance.now() - begin;
    if (this.#staging === staging) this.#staging = undefined;
    return failed;
  }

  /** The staging buffers `load()` started preparing, ready (hurried on). */
  async #prepared(): Promise<void> {
    await this.#preparing;
    await this.#stager.prepared();
  }

  /** Settles the in-flight save; throws the first error of a background save once. */
  async wait(): Promise<void> {
    const inFlight = this.#inFlight;
    if (inFlight) await inFlight.promise.catch(() => {});
    if (this.#inFlight === inFlight) this.#inFlight = undefined;
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#failure = undefined;
      throw failure;
    }
  }

  /** Waits for the in-flight save and queued purges, frees staging buffers; errors surface here. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.wait();
      await this.#purger.settled();
    } finally {
      this.#closed = true;
      await this.#prepared(); // prepares nothing once closed
      this.#stager.dispose();
    }
  }

  /** `load(config.load_step)`: what a training program calls once before its first step. */
  maybeLoad(): Promise<LoadResult> {
    return this.load(this.config.checkpoint.load_step);
  }

  /**
   * TorchTitan's decision: a complete step of the folder wins (the newest for -1; step 0 loads the model
   * only); else `initial_load_path` (DCP, or HF with `initial_load_in_hf`); else with `initial_load_in_hf`
   * the HF weights at `hf_assets_path`; else a fresh start. Loading is strict.
   */
  async load(step = -1): Promise<LoadResult> {
    await this.#stagingFailed(); // loading changes the state a background staging may still be copying
    const result = await this.#load(step);
    this.#prepareStaging();
    return result;
  }

  /**
   * `async_with_pinned_mem`: the staging buffers for the state as loaded, allocated and touched in the
   * background while the first steps train, so the first save costs what later ones do (TorchTitan allocates
   * its pinned memory at the first save).
   */
  #prepareStaging(): void {
    const c = this.config.checkpoint;
    if (this.#stager.mode !== "pinned" || !c.enable || c.load_only || this.#preparing) return;
    this.#preparing = this.#collect(this.#stateNames()).then(
      ({ entries }) => {
        if (!this.#closed) this.#stager.prepare(entries, this.#opts.signal);
      },
      () => {}, // a state that cannot be read fails the first save, which says so
    );
  }

  async #load(step: number): Promise<LoadResult> {
    this.#checkOpen();
    const c = this.config.checkpoint;
    const fresh: LoadResult = { loaded: false, source: "fresh", modelOnly: false, fromHf: false, keys: {} };
    if (!c.enable) return fresh;
    this.#opts.signal?.throwIfAborted();
    if (!Number.isSafeInteger(step) || step < -1) {
      throw new UsageError("E_USAGE", `step must be -1 or >= 0, got ${step}`);
    }
    const steps = await listSteps(this.storage);
    if (step !== -1 && steps === undefined) {
      throw new StorageError("E_NOT_FOUND", `load_step ${step} asked for, but the checkpoint folder does not exist`, {
        path: this.storage.description,
      });
    }
    const loadStep = steps === undefined ? -1 : step === -1 ? newestComplete(steps)?.step ?? -1 : step;
    let storage: Storage;
    let dir = "";
    let source: LoadResult["source"];
    let modelOnly: boolean;
    let fromHf: boolean;
    if (loadStep === -1) {
      modelOnly = c.initial_load_model_only;
      fromHf = c.initial_load_in_hf;
      if (c.initial_load_in_hf_quantized) {
        throw new WebdcpError("E_UNSUPPORTED", "quantized HF checkpoints are not read yet");
      }
      let path: string;
      if (c.initial_load_path !== null) [path, source] = [c.initial_load_path, "initial_load_path"];
      else if (fromHf) [path, source] = [this.config.hfAssetsPath, "hf_assets_path"];
      else return fresh;
      storage = (this.#opts.openStorage ?? noFileSystem)(path);
      if ((await storage.list("")) === undefined) {
        throw new StorageError(
          "E_NOT_FOUND",
          `checkpoint.${source === "hf_assets_path" ? "hf_assets_path" : "initial_load_path"} is not a folder`,
          { path },
        );
      }
    } else {
      storage = this.storage;
      dir = stepDir(loadStep);
      source = "step";
      modelOnly = loadStep === 0;
      const complete = await completeness(storage, dir);
      if (complete === undefined) {
        const exists = (await storage.list(dir)) !== undefined;
        throw new StorageError(
          "E_NOT_FOUND",
          exists ? `${dir} is incomplete (no .metadata or HF index)` : `${dir} does not exist`,
          {
            path: dir,
          },
        );
      }
      // An HF step (a last save) holds the model only, through the adapter.
      fromHf = complete === "hf";
      modelOnly ||= fromHf;
    }
    const names = modelOnly ? ["model"] : this.#loadNames();
    const { entries, plannerData, owner } = await this.#collect(names);
    const read = { storage, dir, target: entries, engine: this.#engine, signal: this.#opts.signal };
    const loaded = fromHf ? await readHfStep({ ...read, adapter: this.#adapter("from-hf") }) : await readDcpStep(read);
    const keys: Record<string, number> = {};
    for (const name of names) {
      const fqns = [...entries.keys()].filter((k) => owner.get(k) === name);
      const state = this.#opts.states[name]!;
      const flat = new Map(fqns.map((k) => [k, loaded.get(k)!] as const));
      const paths = new Map<string, StatePath>(
        fqns.map((k) => [k, name === "model" ? plannerData.get(k)! : plannerData.get(k)!.slice(1)]),
      );
      await state.loadStateDict(unflattenStateDict(flat, paths));
      keys[name] = fqns.length;
      this.#opts.onProgress?.({
        step: loadStep,
        phase: "load",
        itemsDone: Object.keys(keys).length,
        itemsTotal: names.length,
      });
    }
    return { loaded: true, source, step: loadStep === -1 ? undefined : loadStep, modelOnly, fromHf, keys };
  }

  #checkOpen(): void {
    if (this.#closed) throw new UsageError("E_USAGE", "the CheckpointManager is closed");
  }

  #warn(message: string): void {
    if (this.#opts.onWarning) this.#opts.onWarning(message);
    else this.warnings.push(message);
  }

  /** The states given, model first. */
  #stateNames(): string[] {
    return [
      "model",
      ...Object.keys(this.#opts.states).filter((n) => n !== "model" && this.#opts.states[n] !== undefined),
    ];
  }

  /** States to load: all but `exclude_from_loading`, whose names must be states (TorchTitan's are always known). */
  #loadNames(): string[] {
    const names = this.#stateNames();
    for (const x of this.config.checkpoint.exclude_from_loading) {
      if (!names.includes(x) && !(STATE_NAMES as readonly string[]).includes(x)) {
        throw new ConfigError({
          key: "checkpoint.exclude_from_loading",
          value: x,
          reason: `no state is named '${x}'`,
          allowed: names.filter((n) => n !== "model").join(", "),
          suggestion: nearestName(x, [...new Set([...names, ...STATE_NAMES])].filter((n) => n !== "model")),
        });
      }
    }
    return names.filter((n) => !this.config.checkpoint.exclude_from_loading.includes(n));
  }

  /** The named states flattened as TorchTitan lays them out: model keys at the top, the rest under their name. */
  async #collect(
    names: readonly string[],
  ): Promise<{ entries: Map<string, StateLeaf>; plannerData: Map<string, StatePath>; owner: Map<string, string> }> {
    const root = new Map<string, unknown>();
    const model = await this.#opts.states.model.stateDict();
    if (!isMapping(model)) {
      throw new UsageError("E_USAGE", "states.model.stateDict() must return a Map or a plain object");
    }
    for (const [k, v] of model instanceof Map ? model : Object.entries(model)) {
      if (names.includes(String(k)) && k !== "model") {
        throw new UsageError("E_USAGE", `model key '${String(k)}' collides with the state of that name`);
      }
      root.set(String(k), v);
    }
    for (const name of names) {
      if (name !== "model") root.set(name, await this.#opts.states[name]!.stateDict());
    }
    const { entries, plannerData } = flattenStateDict(root);
    const owner = new Map<string, string>();
    for (const [fqn, path] of plannerData) {
      const head = String(path[0]);
      owner.set(fqn, head !== "model" && names.includes(head) && path.length > 1 ? head : "model");
    }
    return { entries, plannerData, owner };
  }

  #adapter(direction: "to-hf" | "from-hf"): StateDictAdapter {
    const a = this.#opts.adapter;
    if (!a) throw new UsageError("E_USAGE", "HF checkpoints need a model adapter (options.adapter)");
    return getAdapter(a.model, { flavor: a.flavor, direction, keys: a.keys });
  }

  async #write(
    step: number,
    kind: SaveKind,
    entries: Map<string, StateLeaf>,
    plannerData: Map<string, StatePath>,
  ): Promise<void> {
    const dir = stepDir(step);
    const c = this.config.checkpoint;
    const onProgress = this.#opts.onProgress;
    const w = {
      storage: this.storage,
      dir,
      entries,
      plannerData,
      engine: this.#engine,
      castTo: kind === "full" ? undefined : c.export_dtype,
      onProgress: onProgress &&
        ((p: { itemsDone: number; itemsTotal: number; bytesWritten: number }) =>
          onProgress({
            step,
            phase: "write",
            itemsDone: p.itemsDone,
            itemsTotal: p.itemsTotal,
            bytesWritten: p.bytesWritten,
          })),
    };
    if (kind === "hf") await writeHfStep({ ...w, adapter: this.#adapter("to-hf") });
    else await writeDcpStep(w);
  }
}

function isResolved(c: ManagerConfig | ConfigDocument): c is ManagerConfig {
  return typeof (c as ManagerConfig).folder === "string" && Array.isArray((c as ManagerConfig).warnings) &&
    typeof (c as ManagerConfig).checkpoint?.enable === "boolean";
}

/** The portable manager's `openStorage`: there is no file system to open a path on. */
function noFileSystem(path: string): Storage {
  throw new UsageError(
    "E_USAGE",
    `no storage for '${path}': pass options.storage or options.openStorage (only the host entry opens files by path)`,
  );
}
