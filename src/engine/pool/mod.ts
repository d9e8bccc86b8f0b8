/**
 * The cast worker pool, for host code a layer above that runs its own programs on the pool's workers (the
 * manager's seed generator). Not part of the public `engine` namespace: engines start and stop their pool.
 * @module
 */
export {
  type CastKitFunctions,
  CastPool,
  castPoolSupported,
  castReadsInPlace,
  defaultPoolSize,
  type PrivateCastKit,
  privateCastKit,
  programCasts,
  type WorkerProgram,
} from "./cast_pool.ts";
