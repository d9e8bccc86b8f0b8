/**
 * Lowers the calling thread's scheduling priority by `niceness` steps (Linux's per-thread nice value, raised
 * from where it is, at most to 19, through Deno's FFI): for worker threads whose work may wait, so that the
 * thread feeding a device gets a core the moment it needs one. A seed checkpoint's generators keep both cores
 * of a 2-core machine busy while the main thread copies their bands into direct writes; when the generators
 * win the core, the disk idles. Returns whether it took effect: false elsewhere (not Deno on Linux, no ffi
 * permission, no glibc).
 *
 * Self-contained (no reference outside its body): its source text also runs in pool workers.
 */
export function lowerThreadPriority(niceness: number): boolean {
  type Ffi = {
    build?: { os?: string };
    permissions?: { querySync?(d: { name: "ffi" }): { state: string } };
    dlopen?(path: string, symbols: Record<string, unknown>): {
      symbols: {
        getpriority(which: number, who: number): number;
        setpriority(which: number, who: number, prio: number): number;
      };
      close(): void;
    };
  };
  const deno = (globalThis as unknown as { Deno?: Ffi }).Deno;
  try {
    if (deno?.build?.os !== "linux" || deno.dlopen === undefined) return false;
    if (deno.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return false;
    const lib = deno.dlopen("libc.so.6", {
      getpriority: { parameters: ["i32", "u32"], result: "i32" },
      setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
    });
    // PRIO_PROCESS (0) with who = 0 names the calling thread on Linux, not the whole process. setpriority
    // sets the nice value outright, so the new one counts from the current one (-20 to 19, as glibc gives it).
    const now = lib.symbols.getpriority(0, 0);
    const done = lib.symbols.setpriority(0, 0, Math.min(19, now + niceness)) === 0;
    lib.close();
    return done;
  } catch {
    return false;
  }
}
