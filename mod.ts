/**
 * webdcp: read, write, reshard and convert PyTorch Distributed Checkpoints (DCP), torch.save files and
 * safetensors in TypeScript, in Deno, browsers and Node.
 *
 * The surface: the jobs (`convert`, `reshard`, `inspect`, `verify`, `diff`, `finalize`), each taking
 * `(src, [dst,] options)` with `Location`s (`{ storage, path }`); the read model (`openTensorSource`: any
 * input as named tensors read on demand); the storages; the engine and the GPU loader; the base types.
 * The format layers are namespaces for power users: `dcp`, `torch`, `safetensors`, `pickle`, `zip`,
 * `engine`. Everything here but `FileStorage` and the file-opening `CheckpointManager` is `browser.ts`,
 * the entry for browsers and bundlers.
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

export * from "./browser.ts";
export { FileStorage, type FileStorageOptions } from "./src/storage/file/mod.ts";
/** The checkpoint manager whose paths (folder, `initial_load_path`, `hf_assets_path`) open as `FileStorage`. */
export { CheckpointManager } from "./src/manager/host_manager.ts";
/** The portable manager the host one extends (`webdcp/browser` exports it as `CheckpointManager`). */
export type { PortableCheckpointManager } from "./src/manager/host_manager.ts";
