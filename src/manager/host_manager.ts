import { FileStorage } from "../storage/file/mod.ts";
import { CheckpointManager as PortableCheckpointManager, type CheckpointManagerOptions } from "./manager.ts";

// Named so mod.ts can export the base class as a type: its documented surface may not extend a hidden class.
export { PortableCheckpointManager };

/**
 * The `CheckpointManager` of the host entry (`mod.ts`, Deno and Node): paths (the checkpoint folder,
 * `initial_load_path`, `hf_assets_path`) open as `FileStorage` unless `openStorage` says otherwise. It lives
 * apart from the portable manager so that `webdcp/browser` reaches no Node built-in.
 */
export class CheckpointManager extends PortableCheckpointManager {
  /** `config` as the portable manager takes it; `options.openStorage` defaults to opening a `FileStorage`. */
  constructor(config: ConstructorParameters<typeof PortableCheckpointManager>[0], options: CheckpointManagerOptions) {
    super(config, { openStorage: (path) => new FileStorage(path), ...options });
  }
}
