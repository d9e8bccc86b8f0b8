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
