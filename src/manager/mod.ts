/**
 * TorchTitan's checkpoint manager: the `[checkpoint]` configuration (TOML, objects and command-line
 * overrides, every mistake a `ConfigError`), the save policy, asynchronous saves with staging, resume from the
 * newest complete step, `keep_latest_k` purges and seed checkpoints. This `CheckpointManager` works on any
 * `Storage`; the host entry's (`mod.ts`) also opens paths as files.
 *
 * @example Save step 10, then resume a fresh model from it
 * ```ts
 * import { CheckpointManager, type Stateful } from "./mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor, type Tensor } from "../tensor/mod.ts";
 *
 * const trained = makeTensor("float32", [2, 2], new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
 * let weights: Tensor = trained;
 * const model: Stateful = {
 *   stateDict: () => ({ w: weights }),
 *   loadStateDict: (state) => {
 *     weights = state.get("w") as Tensor;
 *   },
 * };
 * const storage = new MemoryStorage();
 * const config = { checkpoint: { enable: true, interval: 10 } };
 * const saver = new CheckpointManager(config, { states: { model }, storage });
 * const saved = await saver.save(10); // a multiple of interval: saved (synchronously, async_mode "disabled")
 * await saver.close();
 *
 * weights = makeTensor("float32", [2, 2]); // a fresh start
 * const resumed = new CheckpointManager(config, { states: { model }, storage });
 * const loaded = await resumed.maybeLoad();
 * await resumed.close();
 * if (!saved.saved || loaded.step !== 10 || weights.data.join() !== trained.data.join()) {
 *   throw new Error("the model should come back from step-10");
 * }
 * ```
 * @module
 */
export {
  ASYNC_MODES,
  type AsyncMode,
  CHECKPOINT_KEYS,
  type CheckpointConfig,
  type CheckpointKey,
  type CheckpointOptions,
  type ConfigDocument,
  EXPORT_DTYPES,
  type ExportDType,
  type ManagerConfig,
  parseConfigToml,
  resolveConfig,
  STATE_NAMES,
  type StateName,
} from "./config.ts";
export { applyCliOverrides, type CliOverrides } from "./cli_overrides.ts";
export { ConfigError, type ConfigProblem } from "./config_error.ts";
export { loadConfig, type LoadConfigOptions, type LoadedConfig } from "./load_config.ts";
export {
  CheckpointManager,
  type CheckpointManagerOptions,
  type LoadResult,
  type ManagerProgress,
  type SaveKind,
  type SaveResult,
  type SaveTimes,
} from "./manager.ts";
export { GpuStateTensor, type ManagerStates, type Stateful } from "./states.ts";
export { shouldSave } from "./policy.ts";
export { createSeedCheckpoint, type SeedOptions } from "./seed.ts";
