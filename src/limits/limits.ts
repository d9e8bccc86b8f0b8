/**
 * The limits every reader applies to untrusted checkpoints, defined once (docs/LIMITS.md explains each).
 * Defaults are far above what real checkpoints need and far below what exhausts a process; a caller with a
 * legitimate giant raises one through the `limits` option of the reader or job.
 */
import { type ErrorLocation, UsageError, WebdcpError } from "../errors/mod.ts";

/** Caps on what one untrusted checkpoint may make a reader allocate or walk; each a positive integer. */
export interface Limits {
  /** Containers nested in one another (pickle values, `planner_data` paths). Python's own recursion limit is 1000. */
  maxDepth: number;
  /** Values one pickle decodes to, and nodes a traversal visits when shared parts are walked as a tree. */
  maxValues: number;
  /** Memo references a pickle follows (`BINGET`), and shared objects a traversal meets again. */
  maxMemoReferences: number;
  /** Bytes of a metadata document read whole: DCP `.metadata`, a torch `data.pkl`, an HF index. */
  maxMetadataBytes: number;
  /** Bytes of a safetensors JSON header (the Rust reference's own cap). */
  maxHeaderBytes: number;
  /** Saved chunks of one tensor. */
  maxChunksPerTensor: number;
  /** Tensors and values in one checkpoint (or one safetensors file). */
  maxTensors: number;
  /** UTF-16 code units of one tensor or value name. */
  maxNameLength: number;
}

/** The limits readers apply when the caller passes none (frozen; `resolveLimits` copies before overriding). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 1000,
  maxValues: 10_000_000,
  maxMemoReferences: 10_000_000,
  maxMetadataBytes: 512 << 20,
  maxHeaderBytes: 100_000_000,
  maxChunksPerTensor: 1 << 20,
  maxTensors: 1 << 19,
  maxNameLength: 16_384,
});

/** The name of one limit, as `LimitError.limit` reports it and the `limits` option spells it. */
export type LimitName = keyof Limits;

/** The defaults with `overrides` applied; an override that is not a positive safe integer is a usage error. */
export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) throw new UsageError("E_USAGE", `unknown limit '${name}'`);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new UsageError("E_USAGE", `limit ${name} must be a positive integer, got ${value}`);
    }
    out[name as LimitName] = value;
  }
  return out;
}

/** A checkpoint breaks a limit: names the limit, its value and what exceeded it, plus the file and offset. */
export class LimitError extends WebdcpError {
  /** The limit that was broken. */
  readonly limit: LimitName;
  /** Its value when the read broke it. */
  readonly max: number;
  /** `what` says what exceeded the limit; `where` names the file and offset. The code is `E_LIMIT`. */
  constructor(limit: LimitName, max: number, what: string, where: ErrorLocation) {
    super("E_LIMIT", `${what} exceeds the limit ${limit}=${max} (raise it with the ${limit} option)`, where);
    this.limit = limit;
    this.max = max;
  }
}

/** Throws a `LimitError` when `actual` exceeds `limits[name]`; `what` says what was counted. */
export function checkLimit(limits: Limits, name: LimitName, actual: number, what: string, where: ErrorLocation): void {
  if (actual > limits[name]) throw new LimitError(name, limits[name], `${what} (${actual})`, where);
}
