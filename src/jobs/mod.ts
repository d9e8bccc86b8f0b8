/**
 * The jobs: convert, reshard, inspect, verify, diff and finalize over any supported input.
 * @module
 */
export { type ConvertOptions, type ConvertReport, convert, convertSource, DEFAULT_CONCURRENCY, type TargetFormat } from "./convert.ts";
export { dryRunReshard, planReshard, reshard, type ReshardMove, type ReshardOptions, type ReshardPlan } from "./reshard.ts";
export { describeSource, inspect, type InspectReport } from "./inspect.ts";
export { verify, type VerifyOptions, type VerifyProblem, type VerifyReport } from "./verify.ts";
export { diff, type DiffOptions, type DiffReport, type TensorDiff } from "./diff.ts";
export { finalize, type FinalizeReport } from "./finalize.ts";
