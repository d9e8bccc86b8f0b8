import type { Storage } from "../storage/mod.ts";

/** A file or folder inside a storage: what every job reads from or writes to. */
export interface Location {
  /** The storage the file or folder is in. */
  storage: Storage;
  /** Path relative to the storage root; "" is the root folder itself. */
  path: string;
}
