/**
 * The jobs: convert, reshard, inspect, verify, diff and finalize over any supported input.
 *
 * Every job takes `(src, [dst,] options)`: `src` and `dst` are `Location`s (`{ storage, path }`, a file or
 * folder inside a storage), options one object with `onProgress` for progress. `finalize` takes the output
 * it completes as its only location.
 * @example
 * ```ts
 * import { convert, inspect } from "./mod.ts";
 * import { saveStateDict } from "../dcp/mod.ts";
 * import { createCpuEngine } from "../engine/mod.ts";
 * import { MemoryStorage } from "../storage/mod.ts";
 * import { makeTensor } from "../tensor/mod.ts";
 *
 * const storage = new MemoryStorage();
 * await saveStateDict(storage, "step-1", { model: { w: makeTensor("float32", [4, 2]) } }, { ranks: 2 });
 * const dst = { storage, path: "hf/model.safetensors" };
 * await convert({ storage, path: "step-1" }, dst, { to: "safetensors", dtype: "bfloat16", engine: createCpuEngine() });
 * const report = await inspect(dst);
 * if (report.tensors[0].dtype !== "bfloat16") throw new Error(JSON.stringify(report.tensors));
 * ```
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
