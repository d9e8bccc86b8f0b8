import fc from "fast-check";
import type { Seed } from "./seeds.ts";

/**
 * Byte-level mutations of a seed file. Positions are drawn against the original length and wrapped into
 * the current one when applied, so a list of mutations always applies and shrinks towards small indices.
 */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "overwrite"; at: number; bytes: Uint8Array }
  | { op: "truncate"; length: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; from: number; length: number; to: number }
  /** Writes `value` over a known integer field (little-endian, wrapped to `width` bytes). */
  | { op: "splice"; at: number; width: number; value: bigint }
  /** Adds `delta` to a known little-endian integer field (off-by-a-few offsets and lengths). */
  | { op: "nudge"; at: number; width: number; delta: number }
  /** Replaces the digits of a decimal number in JSON text with `value`. */
  | { op: "decimal"; at: number; digits: number; value: bigint };

function wrap(at: number, length: number): number {
  return length === 0 ? 0 : at % length;
}

function readLe(b: Uint8Array, at: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]);
  return v;
}

function writeLe(b: Uint8Array, at: number, width: number, value: bigint): void {
  const mod = 1n << BigInt(8 * width);
  let v = ((value % mod) + mod) % mod;
  for (let i = 0; i < width; i++, v >>= 8n) b[at + i] = Number(v & 0xffn);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.byteLength));
  return out;
}

export function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const b = input.slice();
  const n = b.byteLength;
  switch (m.op) {
    case "flip":
      if (n > 0) b[wrap(m.at, n)] ^= 1 << m.bit;
      return b;
    case "overwrite": {
      const at = wrap(m.at, n);
      b.set(m.bytes.subarray(0, n - at), at);
      return b;
    }
    case "truncate":
      return b.slice(0, Math.min(m.length, n));
    case "insert": {
      const at = wrap(m.at, n + 1);
      return concat(b.subarray(0, at), m.bytes, b.subarray(at));
    }
    case "delete": {
      const at = wrap(m.at, n);
      return concat(b.subarray(0, at), b.subarray(at + m.length));
    }
    case "duplicate": {
      const from = wrap(m.from, n);
      const to = wrap(m.to, n + 1);
      return concat(b.subarray(0, to), b.subarray(from, from + m.length), b.subarray(to));
    }
    case "splice":
      if (m.at + m.width <= n) writeLe(b, m.at, m.width, m.value);
      return b;
    case "nudge":
      if (m.at + m.width <= n) writeLe(b, m.at, m.width, readLe(b, m.at, m.width) + BigInt(m.delta));
      return b;
    case "decimal":
      if (m.at + m.digits > n) return b;
      return concat(b.subarray(0, m.at), new TextEncoder().encode(m.value.toString()), b.subarray(m.at + m.digits));
  }
}

export function applyMutations(input: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  return ms.reduce(applyMutation, input);
}

/** Values that break length and offset arithmetic: type limits, the 2^53 edge, sizes near the input's. */
function interestingInt(size: number): fc.Arbitrary<bigint> {
  const s = BigInt(size);
  return fc.oneof(
    fc.constantFrom(
      0n,
      1n,
      2n,
      0x7fn,
      0x80n,
      0xffn,
      0x7fffn,
      0x8000n,
      0xffffn,
      0x7fffffffn,
      0x80000000n,
      0xffffffffn,
      2n ** 32n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 53n + 1n,
      2n ** 63n - 1n,
      2n ** 63n,
      2n ** 64n - 1n,
      -1n,
      s - 1n,
      s,
      s + 1n,
      2n * s,
    ),
    fc.nat({ max: 4 * size }).map(BigInt),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  );
}

const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 16 });

/** Any blind byte-level mutation of a file of `size` bytes. */
function blindMutation(size: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: Math.max(size, 1) });
  const len = fc.integer({ min: 1, max: Math.max(1, Math.min(size, 256)) });
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("overwrite" as const), at, bytes: smallBytes }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), length: fc.nat({ max: size }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("insert" as const), at, bytes: smallBytes }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), at, length: len }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), from: at, length: len, to: at }) },
  );
}

/** Mutations aimed at the integer fields the seed map lists (and at bytes inside its pickles). */
function aimedMutation(s: Seed): fc.Arbitrary<Mutation> | undefined {
  const size = s.bytes.byteLength;
  const options: fc.WeightedArbitrary<Mutation>[] = [];
  const fields = Object.entries(s.map.le).flatMap(([w, ats]) => ats.map((at) => ({ at, width: Number(w) })));
  if (fields.length > 0) {
    const field = fc.constantFrom(...fields);
    options.push({
      weight: 4,
      arbitrary: fc.tuple(field, interestingInt(size)).map(([f, value]): Mutation => ({ op: "splice", ...f, value })),
    });
    options.push({
      weight: 2,
      arbitrary: fc.tuple(field, fc.integer({ min: -70, max: 70 })).map(([f, delta]): Mutation => ({
        op: "nudge",
        ...f,
        delta,
      })),
    });
  }
  if (s.map.dec.length > 0) {
    options.push({
      weight: 3,
      arbitrary: fc.tuple(fc.constantFrom(...s.map.dec), interestingInt(size))
        .map(([[at, digits], value]): Mutation => ({ op: "decimal", at, digits, value: value < 0n ? -value : value })),
    });
  }
  if (s.map.pickles.length > 0) {
    const inPickle = fc.constantFrom(...s.map.pickles).chain(([at, length]) =>
      fc.integer({ min: at, max: at + length - 1 })
    );
    options.push({
      weight: 2,
      arbitrary: fc.tuple(inPickle, fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => ({
        op: "flip",
        at,
        bit,
      })),
    });
    options.push({
      weight: 1,
      arbitrary: fc.tuple(inPickle, fc.uint8Array({ minLength: 1, maxLength: 4 }))
        .map(([at, bytes]): Mutation => ({ op: "overwrite", at, bytes })),
    });
  }
  if (s.map.pickles.some(([at, length]) => at === 0 && length === size)) {
    // A file that is one pickle ends in STOP: DUP, TUPLE2 pairs inserted there wrap the result in (x, x)
    // n deep (2 bytes a level, 2^n values to a walker that forgets shared nodes); elsewhere they land
    // between or inside other opcodes.
    const before = fc.oneof(fc.constant(size - 1), fc.nat({ max: Math.max(size - 1, 0) }));
    options.push({
      weight: 1,
      arbitrary: fc.tuple(before, fc.integer({ min: 1, max: 48 }))
        .map(([at, levels]): Mutation => ({ op: "insert", at, bytes: sharedNesting(levels) })),
    });
  }
  return options.length > 0 ? fc.oneof(...options) : undefined;
}

/** `levels` x (DUP, TUPLE2): the fuzz report's "shared nested tuples". */
function sharedNesting(levels: number): Uint8Array {
  const bytes = new Uint8Array(2 * levels);
  for (let i = 0; i < levels; i++) bytes.set([0x32, 0x86], 2 * i);
  return bytes;
}

/** One to three mutations of a seed, half of them aimed at its known fields when it has any. */
export function mutationsOf(s: Seed): fc.Arbitrary<Mutation[]> {
  const blind = blindMutation(s.bytes.byteLength);
  const aimed = aimedMutation(s);
  const one = aimed ? fc.oneof(blind, aimed) : blind;
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

/** A single bit flip inside the raw bytes of one tensor storage, with the name of the tensor owning them. */
export function tensorByteFlip(s: Seed): fc.Arbitrary<{ mutation: Mutation; owner: string }> {
  return fc.constantFrom(...s.map.tensors).chain(([start, length, owner]) =>
    fc.tuple(fc.integer({ min: start, max: start + length - 1 }), fc.integer({ min: 0, max: 7 }))
      .map(([at, bit]) => ({ mutation: { op: "flip" as const, at, bit }, owner }))
  );
}

/** Random bytes written inside torch's never-read "FB" padding. */
export function paddingOverwrite(s: Seed): fc.Arbitrary<Mutation> {
  return fc.constantFrom(...s.map.padding).chain(([start, length]) =>
    fc.integer({ min: 0, max: length - 1 }).chain((skip) =>
      fc.uint8Array({ minLength: 1, maxLength: length - skip })
        .map((bytes): Mutation => ({ op: "overwrite", at: start + skip, bytes }))
    )
  );
}

/** Printable form of mutations for failure messages (fast-check prints `Uint8Array`s poorly). */
export function describeMutations(ms: readonly Mutation[]): string {
  return JSON.stringify(
    ms,
    (_k, v) =>
      typeof v === "bigint"
        ? `${v}n`
        : v instanceof Uint8Array
        ? `hex:${Array.from(v, (x) => x.toString(16).padStart(2, "0")).join("")}`
        : v,
  );
}
