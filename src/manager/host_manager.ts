import { FileStorage } from "../storage/file/mod.ts";
import { CheckpointManager as PortableCheckpointManager, type CheckpointManagerOptions } from "./manager.ts";

/**
 * The `CheckpointManager` of the host entry (`mod.ts`, Deno and Node): paths (the checkpoint folder,
 * `initial_load_path`, `hf_assets_path`) open as `FileStorage` unless `openStorage` says otherwise. It lives
 * apart from the portable manager so that `webdcp/browser` reaches no Node built-in.
 */
export class CheckpointManager extends PortableCheckpointManager {
  constructor(config: ConstructorParameters<typeof PortableCheckpointManager>[0], options: CheckpointManagerOptions) {
    super(config, { openStorage: (path) => new FileStorage(path), ...options });
  }
}
