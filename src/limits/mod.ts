/**
 * The limits every reader applies to untrusted checkpoints (nesting depth, values, memo references,
 * metadata and header bytes, chunks per tensor, tensors, name length), defined once with their defaults.
 * `resolveLimits` applies a caller's overrides; `checkLimit` throws a `LimitError` (E_LIMIT) naming the limit,
 * its value and the file and offset that broke it.
 *
 * @example
 * ```ts
 * import { checkLimit, DEFAULT_LIMITS, LimitError, resolveLimits } from "./mod.ts";
 *
 * const limits = resolveLimits({ maxTensors: 100 });
 * if (limits.maxDepth !== DEFAULT_LIMITS.maxDepth) throw new Error("limits not overridden keep their defaults");
 * try {
 *   checkLimit(limits, "maxTensors", 101, "tensors", { path: "step-1/.metadata" });
 *   throw new Error("101 tensors must break maxTensors=100");
 * } catch (e) {
 *   if (!(e instanceof LimitError) || e.limit !== "maxTensors" || e.max !== 100) throw e;
 * }
 * ```
 * @module
 */
export { checkLimit, DEFAULT_LIMITS, LimitError, type LimitName, type Limits, resolveLimits } from "./limits.ts";
