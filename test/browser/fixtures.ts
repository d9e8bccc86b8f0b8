/**
 * Deterministic inputs of the Chromium proof, built the same way in Node (expected results) and in the page
 * (what it saves to OPFS). Imports only from the public surface, since the page's bundle does too.
 */
import { isTensor, safetensors, type Tensor } from "../../mod.ts";

type SafetensorsEntry = safetensors.SafetensorsEntry;

/** xorshift32: the same bytes in every runtime, no dependence on Math.random. */
function seededBytes(length: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Finite-ish f32 values (random sign, mantissa and a moderate exponent) so casts exercise rounding. */
function f32Values(count: number, seed: number): Uint8Array {
  const raw = new Uint32Array(seededBytes(count * 4, seed).buffer);
  for (let i = 0; i < count; i++) raw[i] = (raw[i] & 0x807fffff) | ((100 + (raw[i] >>> 24) % 60) << 23);
  return new Uint8Array(raw.buffer);
}

/** f32 bit patterns casts get wrong most easily: NaN payloads, infinities, zeros, subnormals, ties. */
const F32_EDGES = [
  0x7fc00000,
  0x7fc00001,
  0x7f800001,
  0xffc12345,
  0x7f800000,
  0xff800000,
  0x00000000,
  0x80000000,
  0x00000001,
  0x807fffff,
  0x00400000,
  0x7f7fffff,
  0xff7fffff,
  0x3f808000,
  0x3f818000,
  0x3f80ffff,
  0x477fe000,
  0x477ff000,
  0x33800000,
  0x33000001,
  0x387fc000,
  0x38800000,
  0xc77fefff,
  0x3effffff,
];

function tensor(dtype: Tensor["dtype"], shape: number[], data: Uint8Array): Tensor {
  return { dtype, shape, data };
}

/** The remote `model.safetensors` loaded into WebGPU (cast to bfloat16 there). */
export function remoteWeights(): SafetensorsEntry[] {
  const edges = new Uint8Array(new Uint32Array(F32_EDGES).buffer);
  const list: [string, Tensor][] = [
    ["tok_embeddings.weight", tensor("float32", [37, 16], f32Values(37 * 16, 11))],
    ["layers.0.attention.wq.weight", tensor("float32", [24, 24], f32Values(24 * 24, 12))],
    ["layers.0.edges", tensor("float32", [F32_EDGES.length], edges)],
    ["norm.weight", tensor("float16", [16], seededBytes(32, 13))],
    ["output.weight", tensor("bfloat16", [9, 7], seededBytes(9 * 7 * 2, 14))],
    ["token_ids", tensor("int32", [5, 3], seededBytes(60, 15))],
  ];
  return list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
}

/** The state dict the page saves as a 2-rank DCP into OPFS (and Node serves over HTTP). */
export function dcpStateDict(): Record<string, unknown> {
  return {
    model: {
      "layers.0.w": tensor("float32", [10, 6], f32Values(60, 21)),
      "layers.0.emb": tensor("bfloat16", [8, 4], seededBytes(64, 22)),
      "norm": tensor("float16", [7], seededBytes(14, 23)),
    },
    optimizer: { step: tensor("float32", [], f32Values(1, 24)) },
    train_state: { step: 3, name: "browser" },
  };
}

/** Every 16-bit pattern once, little-endian: the whole domain of f16 and bf16. */
export function all16BitPatterns(): Uint8Array {
  return new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One line per leaf of a (nested, Map or object) state dict: tensors by dtype, shape and SHA-256 of their
 * bytes, other values as JSON. Equal lists mean a bit-exact round trip.
 */
export async function summarizeStateDict(value: unknown, path = ""): Promise<string[]> {
  if (isTensor(value)) return [`${path}: ${value.dtype}${JSON.stringify(value.shape)} ${await sha256Hex(value.data)}`];
  const children = value instanceof Map ? [...value] : isPlainObject(value) ? Object.entries(value) : undefined;
  if (children === undefined) {
    return [`${path} = ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}`];
  }
  const lines: string[] = [];
  for (const [k, v] of children) lines.push(...await summarizeStateDict(v, path ? `${path}.${k}` : String(k)));
  return lines.sort();
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}
