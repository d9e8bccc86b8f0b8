import { PyByteArray, PyComplex, PyFloat, PyTuple } from "../pickle/value.ts";
import { isTensor } from "../tensor/mod.ts";

/**
 * A canonical text of a decoded Python value, equal for equal values, so values from different formats can
 * be compared (`diff`) without caring about object identity or container classes that pickle the same.
 */
export function pyValueKey(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? `i${v}` : `f${v}`;
  if (typeof v === "bigint") return `i${v}`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof PyFloat) return `f${v.value}`;
  if (v instanceof Uint8Array) return `b${Array.from(v).join(",")}`;
  if (v instanceof PyByteArray) return `ba${Array.from(v.bytes).join(",")}`;
  if (v instanceof PyComplex) return `c${v.re},${v.im}`;
  if (v instanceof PyTuple) return `(${v.items.map(pyValueKey).join(",")})`;
  if (Array.isArray(v)) return `[${v.map(pyValueKey).join(",")}]`;
  if (v instanceof Set) return `{${[...v].map(pyValueKey).sort().join(",")}}`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${pyValueKey(k)}:${pyValueKey(x)}`).join(",")}}`;
  if (isTensor(v)) return `t${v.dtype}[${v.shape}]${Array.from(v.data).join(",")}`;
  if (typeof v === "object") {
    return `o{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${pyValueKey(x)}`).join(",")}}`;
  }
  return String(v);
}
