/**
 * webdcp: read, write, reshard and convert PyTorch Distributed Checkpoints (DCP), torch.save files and
 * safetensors in TypeScript, in Deno, browsers and Node.
 *
 * The surface: the jobs (`convert`, `reshard`, `inspect`, `verify`, `diff`, `finalize`), each taking
 * `(src, [dst,] options)` with `Location`s (`{ storage, path }`); the read model (`openTensorSource`: any
 * input as named tensors read on demand); the storages; the engine and the GPU loader; the base types.
 * The format layers are namespaces for power users: `dcp`, `torch`, `safetensors`, `pickle`, `zip`,
 * `engine`.
 *
 * @example Reshard a checkpoint held in memory from 2 ranks to 4 and look at the result
 * ```ts
 * import { createCpuEngine, dcp, inspect, makeTensor, MemoryStorage, reshard } from "./mod.ts";
 *
 * const storage = new MemoryStorage();
 * await dcp.saveStateDict(storage, "step-1", { model: { w: makeTensor("float32", [4, 2]) } }, { ranks: 2 });
 * const engine = createCpuEngine();
 * await reshard({ storage, path: "step-1" }, { storage, path: "step-1-x4" }, { layout: dcp.dimSplitLayout(4), engine });
 * const report = await inspect({ storage, path: "step-1-x4" });
 * if (report.tensors[0].chunks !== 4) throw new Error("expected 4 chunks");
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
} from "./src/errors/mod.ts";
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
  type ByteSink,
  type ByteSource,
  type ByteStream,
  type ChecksummedRecord,
  type DirEntry,
  type FileInfo,
  FileStorage,
  type FileStorageOptions,
  HttpStorage,
  type HttpStorageOptions,
  joinPath,
  MemoryStorage,
  OpfsStorage,
  type Storage,
  type StoredRange,
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
export { type Layout, type RankBox, type StatePath } from "./src/dcp/mod.ts";
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
  type RegionCopy,
  type RowGather,
} from "./src/engine/mod.ts";
export * from "./src/loader/mod.ts";

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
