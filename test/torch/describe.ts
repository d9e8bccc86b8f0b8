import { PyFloat, PyTuple, type PyValue } from "../../src/pickle/mod.ts";
import { isTensor } from "../../src/tensor/mod.ts";

/** The JSON form `py/describe.py` prints, built from our side, so values compare across the two languages. */
export type Described = unknown;

export function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function floatHex(v: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return hexOf(b);
}

export function describe(v: PyValue | unknown): Described {
  if (isTensor(v)) return { tensor: { dtype: v.dtype, shape: v.shape, hex: hexOf(v.data) } };
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? { int: String(v) } : { float: floatHex(v) };
  if (typeof v === "bigint") return { int: v.toString() };
  if (v instanceof PyFloat) return { float: floatHex(v.value) };
  if (v instanceof Uint8Array) return { bytes: hexOf(v) };
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [describe(k), describe(x)]) };
  if (Array.isArray(v)) return { list: v.map(describe) };
  if (v instanceof PyTuple) return { tuple: v.items.map(describe) };
  throw new Error(`cannot describe ${String(v)}`);
}
