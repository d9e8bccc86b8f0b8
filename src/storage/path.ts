import { escapeName, FormatError, StorageError, UsageError, WebdcpError } from "../errors/mod.ts";

/**
 * Storage paths are relative, `/`-separated and canonical, so that every backend (local files, memory,
 * OPFS, HTTP) resolves them the same way and none can be tricked into leaving its root by a name that
 * came from an untrusted index or metadata file.
 */

/** One segment that is neither `.` nor `..` nor drive-letter-like, without `/`, `\\` or NUL. */
const PLAIN_NAME = /^(?!\.\.?$)(?![A-Za-z]:)[^/\\\0]+$/;

/** Canonical form of a relative path: no empty, `.` or `..` segments; `""` is the storage root. */
export function normalizePath(path: string): string {
  if (typeof path !== "string") throw new UsageError("E_USAGE", `path must be a string, got ${typeof path}`);
  // A plain file name is already normal: DCP items name a few such files thousands of times.
  if (PLAIN_NAME.test(path)) return path;
  const reject = (why: string): never => {
    throw new StorageError("E_PATH_ESCAPE", `path '${printable(path)}' ${why}`, { path });
  };
  if (path.includes("\0")) reject("contains a NUL character");
  if (path.includes("\\")) reject("contains a backslash");
  if (path.startsWith("/")) reject("is absolute");
  if (/^[A-Za-z]:/.test(path)) reject("starts with a drive letter");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length === 0) reject("leaves the storage root");
      out.pop();
    } else {
      out.push(segment);
    }
  }
  return out.join("/");
}

/** Joins path parts with `/` and normalizes the result (so a `..` part can never climb above the root). */
export function joinPath(...parts: string[]): string {
  return normalizePath(parts.filter((p) => p !== "").join("/"));
}

/**
 * A path read from a checkpoint file (`relative_path` in `.metadata`, a `weight_map` shard, a part's file
 * list), normalised and checked to name a file inside the checkpoint folder. E_PATH_ESCAPE when it is
 * absolute, leaves the folder or names the folder itself, naming `heldBy`: the file that holds the path.
 */
export function pathFromFile(path: string, heldBy: string, what: string): string {
  let inside = "";
  try {
    inside = normalizePath(path);
  } catch (e) {
    if (!(e instanceof WebdcpError)) throw e;
  }
  if (inside === "") {
    throw new FormatError("E_PATH_ESCAPE", `${what} '${escapeName(path)}' leaves the checkpoint folder`, {
      path: heldBy,
    });
  }
  return inside;
}

/** The folder holding `path` (`""` for a top-level name). */
export function dirname(path: string): string {
  const p = normalizePath(path);
  const cut = p.lastIndexOf("/");
  return cut < 0 ? "" : p.slice(0, cut);
}

/** The last segment of `path` (`""` for the root). */
export function basename(path: string): string {
  const p = normalizePath(path);
  return p.slice(p.lastIndexOf("/") + 1);
}

// Error messages must stay one readable line even for hostile names.
function printable(path: string): string {
  // deno-lint-ignore no-control-regex
  return path.replace(/[\0-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The normalised path of a file to create: any path but the storage root itself (E_USAGE). */
export function fileToCreate(path: string): string {
  const rel = normalizePath(path);
  if (rel === "") throw new UsageError("E_USAGE", "cannot create the storage root as a file");
  return rel;
}
