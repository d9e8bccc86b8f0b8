/**
 * Paths of this machine's file system (POSIX, as FileStorage joins them), for the command line, which turns
 * what the user typed into a FileStorage root: node:path's `resolve`, `dirname` and `basename` for absolute
 * paths, without loading node:path (under Deno, its Node compatibility layer).
 */

/** `path` made absolute against `cwd` (itself absolute), with `.`, `..`, repeated and trailing `/` removed. */
export function resolveHostPath(cwd: string, path: string): string {
  const out: string[] = [];
  for (const segment of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** The folder holding a resolved absolute path (`/` for `/` itself). */
export function hostDirname(abs: string): string {
  return abs.slice(0, abs.lastIndexOf("/")) || "/";
}

/** The last name of a resolved absolute path (`""` for `/`). */
export function hostBasename(abs: string): string {
  return abs.slice(abs.lastIndexOf("/") + 1);
}
