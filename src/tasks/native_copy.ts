/**
 * The runtime's native byte copy, where it has one: Deno's `UnsafePointerView.copyInto` (with the ffi
 * permission), a plain memcpy. V8's own `TypedArray.set` moves bytes to or from shared memory eight at a
 * time (its relaxed-atomic copy): a 1B seed checkpoint's copies into direct-write staging buffers took 0.9
 * s of CPU that way (bench/RESULTS.md, 2026-12-06). Undefined elsewhere (Node, browsers, no permission).
 * It needs no C library (unlike `libc()`), so it works on musl and stripped images too.
 */
export function nativeCopy(): ((into: Uint8Array, from: Uint8Array) => void) | undefined {
  type Ffi = {
    permissions?: { querySync?(d: { name: "ffi" }): { state: string } };
    UnsafePointer?: { of(view: Uint8Array): unknown };
    UnsafePointerView?: new (pointer: unknown) => { copyInto(into: Uint8Array): void };
  };
  const deno = (globalThis as { Deno?: Ffi }).Deno;
  const { UnsafePointer, UnsafePointerView } = deno ?? {};
  try {
    if (UnsafePointer === undefined || UnsafePointerView === undefined) return undefined;
    if (deno?.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return undefined;
  } catch {
    return undefined;
  }
  return (into, from) => {
    if (from.byteLength > 0) new UnsafePointerView(UnsafePointer.of(from)).copyInto(into.subarray(0, from.byteLength));
  };
}
