/**
 * Whether this machine certainly has no GPU hardware that WebGPU could use, so `auto` can pick the CPU twin
 * without asking for an adapter. Asking costs ~40 ms and 37-70 MB on a machine with only a software adapter
 * (Mesa's drivers load either way), paid at the first cast.
 *
 * The rule, Linux only: every hardware adapter is reached through a device node, a DRM render node
 * (`/dev/dri/renderD*`: AMD, Intel, NVIDIA with its DRM module, ARM and the rest), NVIDIA's own nodes
 * (`/dev/nvidia0`, ...) or WSL's paravirtual GPU (`/dev/dxg`). When `/dev` holds none of them, only a software
 * adapter can be found, which `auto` refuses anyway. Anywhere else (other systems, browsers, a `/dev` that
 * cannot be read) the answer is false and the adapter is asked for.
 */
export async function certainlyNoGpu(list: FolderLister | null = deviceLister()): Promise<boolean> {
  if (list === null) return false;
  try {
    const dev = await list("/dev");
    if (dev.some((name) => /^nvidia\d+$/.test(name) || name === "dxg")) return false;
    if (!dev.includes("dri")) return true;
    return !(await list("/dev/dri")).some((name) => name.startsWith("renderD"));
  } catch {
    return false;
  }
}

/** The names in a folder (rejects when it cannot be read). */
export type FolderLister = (path: string) => Promise<string[]>;

type DenoLike = {
  build?: { os?: string };
  readDir?: (path: string) => AsyncIterable<{ name: string }>;
  permissions?: { querySync?: (p: { name: "read"; path: string }) => { state: string } };
};
type NodeLike = {
  platform?: string;
  getBuiltinModule?: (name: string) => { readdirSync(path: string): string[] } | undefined;
};

/** Lists a folder's names with the runtime's own API, on Linux only; null elsewhere or without one. */
function deviceLister(): FolderLister | null {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno !== undefined) {
    const readDir = deno.readDir;
    if (deno.build?.os !== "linux" || typeof readDir !== "function") return null;
    // Without read access granted, reading /dev would prompt the user (or throw): ask for the adapter instead.
    if (deno.permissions?.querySync?.({ name: "read", path: "/dev" }).state !== "granted") return null;
    return async (path) => {
      const names: string[] = [];
      for await (const e of readDir(path)) names.push(e.name);
      return names;
    };
  }
  const proc = (globalThis as { process?: NodeLike }).process;
  if (proc?.platform !== "linux") return null;
  const fs = proc.getBuiltinModule?.("node:fs");
  if (fs === undefined) return null;
  return (path) => Promise.resolve(fs.readdirSync(path));
}
