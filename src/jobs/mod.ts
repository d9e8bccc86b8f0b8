/**
 * The jobs: convert, reshard, inspect, verify, diff and finalize over any supported input.
 *
 * Every job takes `(src, [dst,] options)`: `src` and `dst` are `Location`s (`{ storage, path }`, a file or
 * folder inside a storage), options one object with `onProgress` for progress. `finalize` takes the output
 * it completes as its only location.
 * @module
 */
export { convert, type ConvertOptions, type ConvertReport, convertSource, DEFAULT_CONCURRENCY } from "./convert.ts";
export type { TargetFormat } from "../writers/mod.ts";
export {
  dryRunReshard,
  planReshard,
  reshard,
  type ReshardMove,
  type ReshardOptions,
  type ReshardPlan,
} from "./reshard.ts";
export { describeSource, inspect, type InspectOptions, type InspectReport } from "./inspect.ts";
export { verify, type VerifyOptions, type VerifyProblem, type VerifyReport } from "./verify.ts";
export { diff, type DiffOptions, type DiffReport, type TensorDiff } from "./diff.ts";
export { finalize, type FinalizeReport } from "./finalize.ts";
