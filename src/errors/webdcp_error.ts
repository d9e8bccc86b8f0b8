import { escapeName } from "./escape_name.ts";

/**
 * The one error family of webdcp. Every failure that comes from bad input, I/O or a device carries a
 * stable code (for scripts and tests), the file it concerns and, where known, the byte offset.
 */
export const ERROR_CODES = [
  "E_TRUNCATED", // input ends before a structure it announces
  "E_BAD_MAGIC", // a signature / magic number is wrong
  "E_BAD_CRC", // a zip record's CRC-32 does not match its bytes
  "E_ZIP", // structurally invalid zip archive (torch.save container)
  "E_INFLATE", // a deflated zip entry is corrupt or does not inflate to its declared size
  "E_ZIP_BOMB", // a deflated zip entry declares a size or ratio over its limit
  "E_PICKLE_OPCODE", // unknown or unsupported pickle opcode
  "E_PICKLE_GLOBAL", // a pickle names a global outside the allow-list
  "E_PICKLE", // malformed pickle stream (stack underflow, bad memo, ...)
  "E_TORCH_ARCHIVE", // a torch.save archive is readable but not a valid torch payload
  "E_SAFETENSORS", // malformed safetensors header or layout
  "E_HEADER_TOO_LARGE", // a declared header size is absurd
  "E_LIMIT", // input breaks one of the documented limits (src/limits, docs/LIMITS.md)
  "E_NOT_REGULAR", // a path names a FIFO, device, socket or folder where a regular file is needed
  "E_SYMLINK", // a symbolic link leads outside the storage root and following was not allowed
  "E_UNSAFE_VALUE", // a value to be copied would name a global outside the allow-list when torch loads it
  "E_METADATA", // DCP .metadata decoded but does not have the expected shape
  "E_PATH_ESCAPE", // a relative path leaves the checkpoint folder
  "E_OUT_OF_RANGE", // offset/length beyond the end of a file or tensor
  "E_OVERLAP", // chunks or tensors overlap
  "E_GAP", // chunks leave part of a tensor uncovered
  "E_SHAPE", // absurd or inconsistent shape
  "E_DTYPE", // unknown or unsupported dtype
  "E_MISSING_KEY", // a requested key is not in the checkpoint
  "E_UNKNOWN_KEY", // a key an adapter does not know
  "E_NOT_FOUND", // file or folder does not exist
  "E_IO", // underlying storage failure
  "E_DENIED", // the storage refused the credentials or the access (HTTP 401/403)
  "E_EXISTS", // refusing to overwrite
  "E_USAGE", // bad arguments / options
  "E_CONFIG", // a configuration key or value is unknown or breaks a rule
  "E_UNSUPPORTED", // valid input using a feature webdcp does not implement
  "E_GPU_UNAVAILABLE", // no WebGPU adapter/device
  "E_GPU_LOST", // the GPU device was lost
  "E_GPU_OOM", // GPU out of memory
  "E_GPU", // other GPU validation/runtime failure
  "E_WORKER", // a worker thread failed or went away while running a job
  "E_QUOTA", // the storage quota cannot hold what is being written
  "E_CHECKSUM", // a file's digest differs from the one it must have
] as const;

/** One of `ERROR_CODES`. */
export type ErrorCode = typeof ERROR_CODES[number];

/** Where an error happened, and what caused it. */
export interface ErrorLocation {
  /** The file (or logical source such as a URL) the error concerns. */
  path?: string;
  /** Byte offset within `path` where the problem was found. */
  offset?: number;
  /**
   * The option of the call that is wrong (`dtype`, `dpShard`), named first in the message; front ends map it
   * to their own spelling (the CLI to `--dtype`, `--dp-shard`).
   */
  option?: string;
  /** The underlying error (an I/O or device error). */
  cause?: unknown;
}

/** The base of every error webdcp throws for bad input, I/O or a device; `code` is stable. */
export class WebdcpError extends Error {
  /** The stable code, for scripts and tests. */
  readonly code: ErrorCode;
  /** The file (or URL) concerned. */
  readonly path?: string;
  /** Byte offset in `path` where the problem was found. */
  readonly offset?: number;
  /**
   * The message alone, without the code and location that `message` adds around it. Messages are text for
   * people: names from checkpoints in them are escaped (`escapeName`) so that an embedder printing
   * `e.message` cannot be fed terminal escapes; `path` keeps the name as it is.
   */
  readonly detail: string;
  /** The option of the call that is wrong, when an option is (see `ErrorLocation.option`). */
  readonly option?: string;

  /** An error with its code, message and location (the message gets `code: ... (path @ offset)`). */
  constructor(code: ErrorCode, message: string, where: ErrorLocation = {}) {
    const detail = escapeName(integerNotation(message), { keepNewlines: true });
    const loc = [
      where.path !== undefined ? escapeName(where.path) : undefined,
      where.offset !== undefined ? `offset ${where.offset}` : undefined,
    ].filter((s) => s !== undefined).join(" @ ");
    super(loc ? `${code}: ${detail} (${loc})` : `${code}: ${detail}`, { cause: where.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = where.path;
    this.offset = where.offset;
    this.detail = detail;
    this.option = where.option;
  }
}

/**
 * Sizes computed from hostile shapes can pass 1e21, where JavaScript prints `4.8e+24`; messages give the
 * number's exact integer value instead, wherever it was interpolated. Every error message passes here, and
 * so do the problems `verify` lists without throwing.
 */
export function integerNotation(message: string): string {
  return message.replace(/\b\d(?:\.\d+)?e\+\d+\b/g, (n) => BigInt(Number(n)).toString());
}

/** Bytes that are not what the format says they must be (truncation, magic, layout). */
export class FormatError extends WebdcpError {}
/** A pickle stream that is malformed or names something outside the allow-list. */
export class PickleError extends WebdcpError {}
/** Data that decodes but fails an integrity check (CRC, tiling of chunks). */
export class IntegrityError extends WebdcpError {}
/** Storage backend failures: missing files, I/O errors, refused overwrites. */
export class StorageError extends WebdcpError {}
/** Bad arguments from a caller or the command line. */
export class UsageError extends WebdcpError {}
/** WebGPU device problems. */
export class GpuError extends WebdcpError {}
/** A worker thread of the cast pool failed, went away, or was asked for work after the pool closed. */
export class WorkerError extends WebdcpError {}
