import { hostModule, libc } from "../../tasks/mod.ts";

/**
 * Whether this machine certainly has no GPU hardware that WebGPU could use, so `auto` can pick the CPU twin
 * without asking for an adapter. Asking costs ~40 ms of the calling thread and 37-70 MB on a machine with only a
 * software adapter (Mesa's Vulkan and GL drivers load either way), paid at the first cast.
 *
 * The rule, Linux only: every hardware adapter is reached through a device node that its kernel driver makes, the
 * DRM folder (`/dev/dri`: AMD, Intel, NVIDIA with its DRM module, ARM and the rest), NVIDIA's control node
 * (`/dev/nvidiactl`) or WSL's paravirtual GPU (`/dev/dxg`). When none of them exists, only a software adapter can
 * be found, which `auto` refuses anyway. Anywhere else (other systems, browsers, a runtime that may not look at
 * `/dev`) the answer is false and the adapter is asked for.
 */
export function certainlyNoGpu(exists: NodeCheck | null = nodeCheck()): boolean {
  if (exists === null) return false;
  try {
    return GPU_NODES.every((path) => !exists(path));
  } catch {
    return false;
  }
}

/** The device nodes a GPU driver makes (see `certainlyNoGpu`). */
export const GPU_NODES = ["/dev/dri", "/dev/nvidiactl", "/dev/dxg"] as const;

/** Whether a path exists; throws when it cannot tell. */
export type NodeCheck = (path: string) => boolean;

type DenoLike = {
  build?: { os?: string };
  statSync?: (path: string) => unknown;
  errors?: { NotFound?: new (...args: never[]) => Error };
  permissions?: { querySync?: (p: { name: "read"; path: string }) => { state: string } };
};

/** Checks paths with the runtime's own API, on Linux only; null elsewhere or without the permission to. */
function nodeCheck(): NodeCheck | null {
  const deno = (globalThis as unknown as { Deno?: DenoLike }).Deno;
  if (deno !== undefined) return deno.build?.os === "linux" ? denoNodeCheck(deno) : null;
  const proc = (globalThis as { process?: { platform?: string } }).process;
  if (proc?.platform !== "linux") return null;
  const fs = hostModule<{ existsSync(path: string): boolean }>("node:fs");
  return fs === undefined ? null : (path) => fs.existsSync(path);
}

/**
 * Deno lets a program look at `/dev` only with --allow-all; with --allow-ffi instead (the installed `webdcp`),
 * libc's access() tells. Permissions are queried first: an ungranted one would prompt the user.
 */
function denoNodeCheck(deno: DenoLike): NodeCheck | null {
  const c = libc(); // null without the ffi permission
  const access = c === null ? null : (path: string) => c.access(new TextEncoder().encode(`${path}\0`), 0) === 0;
  const statSync = deno.permissions?.querySync?.({ name: "read", path: "/dev" }).state === "granted"
    ? deno.statSync
    : undefined;
  if (access === null && statSync === undefined) return null;
  return (path) => {
    if (statSync !== undefined) {
      try {
        statSync(path);
        return true;
      } catch (e) {
        if (deno.errors?.NotFound && e instanceof deno.errors.NotFound) return false;
        if (access === null) throw e; // NotCapable: read access to /dev is not enough for Deno
      }
    }
    return access!(path);
  };
}
