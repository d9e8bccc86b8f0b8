/**
 * webdcp for browsers, edge workers and bundlers (`webdcp/browser`, and the `browser` condition of
 * `webdcp`): the whole surface of `mod.ts` except what needs a file system — `FileStorage`, and the
 * `CheckpointManager` that opens paths as files (this one takes a `storage`: OPFS, HTTP, S3, memory). No
 * module reachable from here imports a Node built-in, so a page or a bundler takes it as is.
 * test/package/entries.test.ts checks that mod.ts is this plus exactly those.
 *
 * @example Save a checkpoint into memory and read one tensor's rows back
 * ```ts
 * import { dcp, makeTensor, MemoryStorage } from "./browser.ts";
 *
 * const storage = new MemoryStorage();
 * await dcp.saveStateDict(storage, "step-1", { model: { w: makeTensor("float32", [4, 2]) } }, { ranks: 2 });
 * const ckpt = await dcp.openDcp(storage, "step-1");
 * const rows = await ckpt.readTensor("model.w", { offsets: [1, 0], sizes: [2, 2] });
 * if (rows.shape[0] !== 2) throw new Error("expected 2 rows");
 * ```
 * @module
 */

// Base types.
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorLocation,
  FormatError,
  GpuError,
  IntegrityError,
  InvariantError,
  PickleError,
  type Problem,
  StorageError,
  UsageError,
  WebdcpError,
  WorkerError,
} from "./src/errors/mod.ts";
export { DEFAULT_LIMITS, LimitError, type LimitName, type Limits } from "./src/limits/mod.ts";
export * from "./src/dtype/mod.ts";
export {
  type Box,
  byteSize,
  type Entry,
  isTensor,
  makeTensor,
  numel,
  type StoredChunk,
  type Tensor,
  type TensorEntry,
  type ValueEntry,
  wholeBox,
} from "./src/tensor/mod.ts";

// Storages.
export {
  type BytePiece,
  type ByteSink,
  type ByteSource,
  type ByteStream,
  type ChecksummedRecord,
  type ChunkSink,
  type DescriptorIo,
  type DirEntry,
  type FileInfo,
  HttpStorage,
  type HttpStorageOptions,
  joinPath,
  type MadeRange,
  MemoryStorage,
  OpfsStorage,
  type RangeReader,
  type Storage,
  type StoredRange,
} from "./src/storage/mod.ts";
export {
  parseS3Url,
  type S3Credentials,
  S3Error,
  type S3RetryOptions,
  S3Storage,
  type S3StorageOptions,
} from "./src/storage/mod.ts";

// The read model.
export {
  detectFormat,
  type Location,
  openTensorSource,
  type SelectOptions,
  type SourceFile,
  type SourceFormat,
  type TensorSource,
  TRAINING_GROUPS,
} from "./src/source/mod.ts";

// The jobs.
export * from "./src/jobs/mod.ts";
export type { JobProgress, ProgressCallback } from "./src/tasks/mod.ts";
export type { Part } from "./src/writers/mod.ts";
export {
  type BytesEntryMeta,
  type DcpMetadata,
  type DictAttributes,
  type EntryMeta,
  type Layout,
  type MemoryFormat,
  type RankBox,
  type StateDict,
  type StatePath,
  type StorageEntry,
  type StorageInfo,
  type StorageMeta,
  type TensorEntryMeta,
} from "./src/dcp/mod.ts";
export {
  PyByteArray,
  PyComplex,
  PyFloat,
  PyGlobal,
  PyObject,
  PyPersistent,
  PyReduce,
  PyTuple,
  type PyValue,
  tuple,
} from "./src/pickle/mod.ts";
export {
  ADAPTER_NAMES,
  type AdapterDirection,
  type AdapterDroppedEntry,
  type AdapterFile,
  type AdapterFileOptions,
  type AdapterOptions,
  type AdapterPlan,
  type AdapterPlanOptions,
  type AdapterSourceEntry,
  type AdapterTargetEntry,
  getAdapter,
  type StateDictAdapter,
} from "./src/adapters/mod.ts";

// The engine and the GPU loader.
export {
  type AcquireOptions,
  createCpuEngine,
  createEngine,
  createLazyEngine,
  type Engine,
  type EngineKind,
  type EngineOptions,
  type GpuContext,
  type GpuEngine,
  type GpuLimits,
  type RegionCopy,
  type RowGather,
} from "./src/engine/mod.ts";
export {
  type GpuLoad,
  type GpuTensor,
  type GpuTensorPart,
  type LoadInput,
  type LoadPlan,
  type LoadStats,
  loadToGpu,
  type LoadToGpuOptions,
  locateUrl,
} from "./src/loader/mod.ts";
export * from "./src/cache/mod.ts";

// The checkpoint manager (TorchTitan's [checkpoint]); paths open as files only in the host entry, mod.ts.
export * from "./src/manager/mod.ts";

// The format layers, for power users.
/** The DCP layer: `.metadata` model and codec, reader, write plans and the commit, layouts and tiling. */
export * as dcp from "./src/dcp/mod.ts";
/** torch.save archives: open and read lazily, save (byte-identical to torch), tensor references. */
export * as torch from "./src/torch/mod.ts";
/** safetensors files and HF folders: header, tensor reads, writes, shard plans and the index. */
export * as safetensors from "./src/safetensors/mod.ts";
/** The pickle codec (protocols 2 to 5 read, 2 and 4 written) and its Python value model. */
export * as pickle from "./src/pickle/mod.ts";
/** The zip container of torch.save: directory reader, writer, CRC-32 and its algebra. */
export * as zip from "./src/zip/mod.ts";
/** The CPU and WebGPU conversion engines and their kernels. */
export * as engine from "./src/engine/mod.ts";
