import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** torch's own `.to(dtype)` results, written by py/make_reference.py into a temporary folder. */
export interface TorchReference {
  input(src: string): Uint8Array;
  output(src: string, dst: string): Uint8Array;
  remove(): void;
}

export function makeTorchReference(python: string, randomCount = 200_000): TorchReference {
  const dir = mkdtempSync(join(tmpdir(), "webdcp-engine-ref-"));
  execFileSync(python, [join(import.meta.dirname, "py", "make_reference.py"), dir, String(randomCount)], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  return {
    input: (src) => read(`${src}.bin`),
    output: (src, dst) => read(`${src}-${dst}.bin`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Index of the first element whose bytes differ, with both values in hex, or undefined when equal. */
export function firstMismatch(
  input: Uint8Array,
  inSize: number,
  got: Uint8Array,
  want: Uint8Array,
  outSize: number,
): string | undefined {
  if (got.byteLength !== want.byteLength) return `length ${got.byteLength} != ${want.byteLength}`;
  const hex = (a: Uint8Array, i: number, n: number) =>
    Array.from(a.subarray(i * n, i * n + n)).reverse().map((b) => b.toString(16).padStart(2, "0")).join("");
  for (let i = 0; i < want.byteLength; i++) {
    if (got[i] !== want[i]) {
      const e = Math.floor(i / outSize);
      return `element ${e}: input 0x${hex(input, e, inSize)} -> 0x${hex(got, e, outSize)}, want 0x${
        hex(want, e, outSize)
      }`;
    }
  }
  return undefined;
}
