import { invariant } from "../errors/mod.ts";
import { PyByteArray, PyComplex, PyFloat, PyGlobal, PyReduce, PyTuple } from "./value.ts";

/** Characters of repr text produced before the rest is cut to `...`: values from files may be huge. */
const DEFAULT_MAX_LENGTH = 1 << 16;

type Step = { value: unknown } | { text: string } | { leave: object };

/**
 * Python's `repr()` of a decoded value, for people reading checkpoints (CLI tables, the demo): `(0.9, 0.95)`,
 * `1e-08`, `'adamw'`, `b'\x80'`, `{'lr': 0.0003}`. Tensors and other objects built by allow-listed globals
 * show as `<dtype[shape]>` or `<object>`. Decoded pickles are graphs, so the walk keeps its own stack (any
 * depth), shows a container met inside itself as Python does (`[...]`, `{...}`), and stops after
 * `maxLength` characters with `...` (a shared value may expand to more text than memory holds).
 */
export function pyRepr(value: unknown, maxLength = DEFAULT_MAX_LENGTH): string {
  let out = "";
  const open = new Set<object>();
  const todo: Step[] = [{ value }];
  while (todo.length > 0) {
    if (out.length > maxLength) return `${out.slice(0, maxLength)}...`;
    const step = todo.pop()!;
    if ("text" in step) {
      out += step.text;
      continue;
    }
    if ("leave" in step) {
      open.delete(step.leave);
      continue;
    }
    const v = step.value;
    const leaf = leafRepr(v);
    if (leaf !== undefined) {
      out += leaf;
      continue;
    }
    const obj = v as object;
    if (open.has(obj)) {
      out += obj instanceof Map || obj instanceof Set ? "{...}" : Array.isArray(obj) ? "[...]" : "(...)";
      continue;
    }
    let parts: Step[];
    let close: string;
    if (obj instanceof PyReduce) {
      out += `${obj.callable.module}.${obj.callable.name}`;
      parts = [{ value: obj.args }];
      close = "";
    } else if (obj instanceof Map) {
      out += "{";
      parts = [];
      for (const [k, x] of obj) parts.push(...sep(parts), { value: k }, { text: ": " }, { value: x });
      close = "}";
    } else {
      const items = obj instanceof PyTuple ? obj.items : obj instanceof Set ? [...obj] : obj as unknown[];
      out += obj instanceof PyTuple ? "(" : obj instanceof Set ? "{" : "[";
      parts = [];
      for (const x of items) parts.push(...sep(parts), { value: x });
      close = obj instanceof PyTuple ? (items.length === 1 ? ",)" : ")") : obj instanceof Set ? "}" : "]";
    }
    open.add(obj);
    todo.push({ leave: obj }, { text: close });
    for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]);
  }
  return out;
}

const COMMA: Step[] = [{ text: ", " }];
const sep = (parts: Step[]) => (parts.length === 0 ? [] : COMMA);

/** The repr of anything that is not a container, or undefined for a container. */
function leafRepr(value: unknown): string | undefined {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : floatRepr(value);
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (typeof value === "string") return strRepr(value);
  if (value instanceof Uint8Array) return `b${bytesRepr(value)}`;
  if (value instanceof PyByteArray) return `bytearray(b${bytesRepr(value.bytes)})`;
  if (value instanceof PyComplex) return complexRepr(value);
  if (value instanceof Set) return value.size === 0 ? "set()" : undefined;
  if (value instanceof PyTuple || Array.isArray(value) || value instanceof Map || value instanceof PyReduce) {
    return undefined;
  }
  if (value instanceof PyGlobal) return `${value.module}.${value.name}`;
  const v = value as { dtype?: unknown; shape?: unknown };
  if (typeof v === "object" && typeof v.dtype === "string" && Array.isArray(v.shape)) {
    return `<tensor ${v.dtype}[${v.shape.join(", ")}]>`;
  }
  return "<object>";
}

/** Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16, two-digit exponents. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${mantissa}e${exp < 0 ? "-" : "+"}${e}`;
  }
  const text = String(x);
  return text.includes(".") ? text : `${text}.0`;
}

/** Python prints complex parts without a trailing ".0", and a zero real part not at all. */
function complexRepr(z: PyComplex): string {
  const part = (x: number) => (Object.is(x, -0) ? "-0" : Number.isInteger(x) ? String(x) : floatRepr(x));
  const im = `${part(z.im)}j`;
  if (Object.is(z.re, 0)) return im;
  return `(${part(z.re)}${z.im < 0 || Object.is(z.im, -0) ? "" : "+"}${im})`;
}

function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0);
    invariant(c !== undefined, "a character of a string has a code point");
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

function bytesRepr(b: Uint8Array): string {
  const hasSingle = b.includes(0x27), hasDouble = b.includes(0x22);
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = quote;
  for (const c of b) {
    const ch = String.fromCharCode(c);
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}
